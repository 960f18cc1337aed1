// Wait for a task to end, typed by what openapi-typescript generates from the served spec:
//   npx openapi-typescript http://127.0.0.1:8000/api/openapi.json -o esdc-task-api.d.ts
import type { components, operations } from "./esdc-task-api";

type Schemas = components["schemas"];
type StatusAnswers = operations["taskStatus"]["responses"];
type Json<Answer> = Answer extends { content: { "application/json": infer Body } } ? Body : never;

/** A task's status once it has ended: HTTP 200, 400 or 410. */
export type Ended =
  | Json<StatusAnswers[200]>
  | Json<StatusAnswers[400]>
  | Json<StatusAnswers[410]>;

/** Whether a task in each state has ended; the compiler checks every state is here. */
export const ended: Record<Schemas["TaskState"], boolean> = {
  PENDING: false,
  STARTED: false,
  SUCCESS: true,
  FAILURE: true,
  REVOKED: true,
};

/** Poll GET /task/{task_id}/status/ while it answers 201 (PENDING or STARTED). */
export async function waitForTask(
  baseUrl: string,
  apiKey: string,
  taskId: Schemas["TaskId"],
  everyMs = 1000,
): Promise<Ended> {
  for (;;) {
    const answer = await fetch(`${baseUrl}/task/${taskId}/status/`, {
      headers: { "ES-API-KEY": apiKey, Accept: "application/json" },
    });
    if (answer.status === 201) {
      const running: Json<StatusAnswers[201]> = await answer.json();
      console.log(`${running.task_id} is ${running.status}`);
      await new Promise((resolve) => setTimeout(resolve, everyMs));
      continue;
    }
    if (answer.status === 200 || answer.status === 400 || answer.status === 410) {
      return (await answer.json()) as Ended;
    }
    const error: Schemas["Error"] = await answer.json();
    throw new Error(`GET status of ${taskId}: ${answer.status} ${error.detail}`);
  }
}
