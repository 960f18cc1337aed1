"""A task's fate changed after it was made, and the history of what it went through.

The control API can end a running task now (with a success or a failure and its result), let
it run until it is cancelled, or make a cancel of it change nothing (a worker that never
terminates it). Each change rewrites the task's steps from the clock's now on: what the task
has already been through stays as it was, and the deployment settles at once, so the end is
logged and the task leaves the lists as if it had been its fate from the start.

A task's *history* is what its status endpoint has answered over time: each state it showed,
from when, including the states of its callback once it finished with one, and the ``PENDING``
it reads again once its result expired.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from http import HTTPStatus
from typing import Any

from mockserver.deployment import Deployment
from mockserver.errors import ApiError, NotFound
from mockserver.lifecycle import BackendState, Outcome, Task, TaskState, shown_result


class FateRefused(ApiError):
    """A task's fate cannot change: it has ended, or its queue's workers are stopped."""

    status = HTTPStatus.CONFLICT


@dataclass(frozen=True)
class Change:
    """The status endpoint shows ``state`` (with ``result``) from ``at`` on; ``task`` is the
    task whose state it is (the callback's id once the task handed over to it)."""

    at: datetime
    state: TaskState
    result: Any
    task: str


def _live_task(deployment: Deployment, task_id: str) -> Task:
    """The task, if its fate may still change now."""
    deployment.settle()
    task = deployment.store.get_task(task_id)
    if task is None:
        raise NotFound(f"No task {task_id!r}; GET /control/tasks/ lists the tasks")
    now = deployment.now()
    final = task.final_step()
    if final is not None and final.at <= now:
        raise FateRefused(
            f"task {task_id!r} already ended {final.state} at {final.at.isoformat()}; "
            "an ended task's fate does not change (POST /control/tasks/ makes a new one)"
        )
    queue = deployment.workers[task.queue]
    if task.on_worker and not queue.running:
        raise FateRefused(
            f"the {task.queue} queue's workers are stopped, so task {task_id!r} is where they "
            "left it; start them first (PUT /control/workers/)"
        )
    return task


def _saved(deployment: Deployment, task: Task) -> Task:
    deployment.store.save_task(task)
    deployment.settle()
    found = deployment.store.get_task(task.id)
    assert found is not None
    return found


def finish(deployment: Deployment, task_id: str, outcome: Outcome, result: Any) -> Task:
    """End a task that has not ended yet, now, as ``outcome`` says, with ``result``."""
    with deployment.store.transaction():
        task = _live_task(deployment, task_id)
        state = BackendState(outcome.value)
        task.finished_at(deployment.now(), state, result, deployment.result_expires)
        return _saved(deployment, task)


def hang(deployment: Deployment, task_id: str) -> Task:
    """Let a task that has not ended yet run until it is cancelled."""
    with deployment.store.transaction():
        task = _live_task(deployment, task_id)
        task.hang()
        return _saved(deployment, task)


def set_cancel(deployment: Deployment, task_id: str, *, ignored: bool) -> Task:
    """Make a cancel of a task change nothing (``ignored``), or revoke it again."""
    with deployment.store.transaction():
        task = _live_task(deployment, task_id)
        task.cancel = "ignored" if ignored else "revokes"
        return _saved(deployment, task)


def history(deployment: Deployment, task: Task) -> list[Change]:
    """Each state the task went through until now, from when: its own steps (a task started
    and ended at one moment went through all three), then, once it has ended, what its status
    endpoint showed: its callbacks' states, and ``PENDING`` again once a result expired."""
    now = deployment.now()
    changes: list[Change] = []

    def add(change: Change) -> None:
        last = changes[-1] if changes else None
        if last is None or (last.state, last.result, last.task) != (
            change.state,
            change.result,
            change.task,
        ):
            changes.append(change)

    for step in task.steps:
        if step.at <= now:
            add(Change(step.at, step.state.shown, shown_result(step.state, step.result), task.id))
    final = task.final_step()
    if final is None or final.at > now:
        return changes
    chain = [task]
    while chain[-1].callback is not None and len(chain) < 16:
        callback = deployment.store.get_task(str(chain[-1].callback))
        if callback is None or callback.id in {member.id for member in chain}:
            break
        chain.append(callback)
    moments = {final.at}
    for member in chain:
        moments.update(step.at for step in member.steps)
        if member.expires_at is not None:
            moments.add(member.expires_at)
    for moment in sorted(m for m in moments if final.at <= m <= now):
        state, result, shown, _ = deployment.shown_state(task, moment)
        add(
            Change(
                moment,
                state.shown,
                shown_result(state, result),
                task.id if shown is None else shown.id,
            )
        )
    return changes
