"""The control API: put the reference server into any state, outside ``/api/``."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from connexion import request
from starlette.responses import Response

from mockserver.clock import ControlledClock
from mockserver.demo_data import ROLES, populate
from mockserver.deployment import Deployment, NewTask
from mockserver.dispatch import handler_for
from mockserver.errors import ApiError, NotFound
from mockserver.ids import TaskGroup, TaskType
from mockserver.lifecycle import Outcome, Task, TaskObject
from mockserver.responses import json_response


class ControlError(ApiError):
    status = HTTPStatus.BAD_REQUEST


class Control:
    """Handlers of the control API for one deployment."""

    def __init__(
        self, deployment: Deployment, clock: ControlledClock, *, seed: int, history: int
    ) -> None:
        self.deployment = deployment
        self.clock = clock
        self.seed = seed
        self.history = history

    def resolve(self, operation_id: str) -> Any:
        """Connexion's function resolver: the handler for ``operation_id``."""
        return handler_for(self, operation_id)

    @staticmethod
    def _json(status: HTTPStatus, body: Any) -> Response:
        return json_response(status, body, accept=request.headers.get("accept"))

    def _clock(self) -> dict[str, Any]:
        return {
            "now": self.clock.now().isoformat(),
            "scale": self.clock.scale,
            "frozen": self.clock.frozen,
        }

    def _accounts(self) -> list[dict[str, Any]]:
        return [
            {
                "id": user.id,
                "username": user.username,
                "password": user.password,
                "api_key": user.api_key,
                "role": ROLES.get(user.username, "user"),
                "current_dc": self.deployment.dc_by_id(user.current_dc).name,
            }
            for user in self.deployment.users.values()
            if user.api_key
        ]

    def _overview(self) -> dict[str, Any]:
        self.deployment.settle()
        store, now = self.deployment.store, self.clock.now()
        running = sum(len(store.running_task_ids(now, dc, None)) for dc in self.deployment.dcs)
        return {
            "clock": self._clock(),
            "tasks": store.count_tasks(),
            "running": running,
            "log_entries": store.count_log(),
            "dcs": [dc.name for dc in self.deployment.dcs.values()],
            "accounts": self._accounts(),
        }

    async def overview(self) -> Response:
        return self._json(HTTPStatus.OK, self._overview())

    async def accounts(self) -> Response:
        return self._json(HTTPStatus.OK, self._accounts())

    async def reset(self, body: Any = None) -> Response:
        body = body or {}
        store = self.deployment.store
        store.clear()
        populate(
            store,
            self.clock.now(),
            seed=body.get("seed", self.seed),
            tasks=body.get("history", self.history),
        )
        self.deployment.reload_accounts()
        return self._json(HTTPStatus.OK, self._overview())

    async def showClock(self) -> Response:
        return self._json(HTTPStatus.OK, self._clock())

    async def advanceClock(self, body: dict[str, Any]) -> Response:
        self.clock.advance(body["seconds"])
        self.deployment.settle()
        return self._json(HTTPStatus.OK, self._clock())

    async def freezeClock(self) -> Response:
        self.clock.freeze()
        return self._json(HTTPStatus.OK, self._clock())

    async def runClock(self, body: Any = None) -> Response:
        self.clock.set_scale((body or {}).get("scale", 1))
        return self._json(HTTPStatus.OK, self._clock())

    async def createTask(self, body: dict[str, Any]) -> Response:
        task = self.deployment.start_task(self._new_task(body))
        return self._json(HTTPStatus.CREATED, self._task(task))

    async def getTask(self, task_id: str) -> Response:
        task = self.deployment.store.get_task(task_id)
        if task is None:
            raise NotFound(f"No task {task_id!r}; GET /control/ shows what the server holds")
        return self._json(HTTPStatus.OK, self._task(task))

    def _user(self, name: str, field: str) -> Any:
        for user in self.deployment.users.values():
            if user.username == name:
                return user
        known = ", ".join(u.username for u in self.deployment.users.values())
        raise ControlError(f"{field}: no user {name!r}; the users are {known}")

    def _new_task(self, body: dict[str, Any]) -> NewTask:
        creator = self._user(body["creator"], "creator")
        owner = self._user(body["owner"], "owner") if "owner" in body else creator
        dc_name = body.get("dc")
        dcs = {dc.name: dc for dc in self.deployment.dcs.values()}
        if dc_name is not None and dc_name not in dcs:
            raise ControlError(
                f"dc: no datacenter {dc_name!r}; the datacenters are {', '.join(dcs)}"
            )
        dc = dcs[dc_name] if dc_name else self.deployment.dc_by_id(creator.current_dc)
        obj = body.get("object") or {"type": "vm", "name": "web01.example.com", "alias": "web01"}
        return NewTask(
            creator=creator,
            owner_id=owner.id,
            dc_id=dc.id,
            object=TaskObject(obj["type"], obj["name"], obj["name"], obj.get("alias", "")),
            msg=body.get("msg", "Start server"),
            view=body.get("view", "vm_status"),
            method=body.get("method", "PUT"),
            params=body.get("params") or {},
            type=TaskType(body.get("type", "e")),
            group=TaskGroup(body.get("group", "d")),
            queued=body.get("queued", 0),
            runs=body.get("runs", 5),
            outcome=Outcome(body.get("outcome", "SUCCESS")),
            result=body.get("result"),
            detail=body.get("detail", ""),
        )

    # The world, workers and throttle controls (issue 10) come with the world files; until then
    # they answer 501 rather than pretend.
    async def _not_yet(self, *_args: Any, **_kwargs: Any) -> Response:
        return self._json(HTTPStatus.NOT_IMPLEMENTED, {"detail": "Not implemented yet"})

    exportWorld = replaceWorld = showWorkers = setWorkers = _not_yet
    showThrottle = setThrottle = resetThrottle = setClock = publishMessage = _not_yet

    def _task(self, task: Task) -> dict[str, Any]:
        now = self.clock.now()
        return {
            "task_id": task.id,
            "state": str(task.state(now)),
            "created_at": task.created_at.isoformat(),
            "started_at": task.started_at.isoformat(),
            "ends_at": None if task.ends_at is None else task.ends_at.isoformat(),
            "revoked_at": None if task.revoked_at is None else task.revoked_at.isoformat(),
            "outcome": str(task.outcome),
            "result": task.result,
            "msg": task.msg,
            "object": {
                "type": task.object.type,
                "name": task.object.name,
                "alias": task.object.alias,
            },
        }
