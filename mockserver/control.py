"""The control API: put the reference server into any state, outside ``/api/``."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

from connexion import request
from starlette.responses import Response

from mockserver.clock import ControlledClock
from mockserver.deployment import Deployment, Failures, NewTask
from mockserver.dispatch import handler_for
from mockserver.errors import ApiError, FieldErrors, NotFound
from mockserver.ids import TaskGroup, TaskType
from mockserver.lifecycle import BackendState, Message, Outcome, Queue, Task, TaskObject
from mockserver.progress import Progress, Steps
from mockserver.responses import json_response
from mockserver.settings import Settings
from mockserver.store import Store
from mockserver.throttle import Throttle
from mockserver.worlds import DEMO_WORLD
from mockserver.worlds.document import WorldError, parse_time, to_doc, write_time
from mockserver.worlds.install import export, install, read_world, world_from_doc
from mockserver.worlds.model import World

log = logging.getLogger("mockserver")


class ControlError(ApiError):
    status = HTTPStatus.BAD_REQUEST


def error_body(exc: ApiError) -> dict[str, Any]:
    """An error of the control API in its spec's shape (``Error``): ``detail`` is always one
    string; a request's field errors are also under ``fields``, each field with its messages."""
    if isinstance(exc, FieldErrors):
        detail = "; ".join(f"{name}: {' '.join(texts)}" for name, texts in exc.errors.items())
        return {"detail": detail, "fields": exc.errors}
    body = exc.body()
    if isinstance(body, dict) and isinstance(body.get("detail"), str):
        return body
    return {"detail": str(body.get("detail", body) if isinstance(body, dict) else body)}


class ClockConflict(ApiError):
    status = HTTPStatus.CONFLICT


class Control:
    """Handlers of the control API for one deployment."""

    def __init__(
        self,
        deployment: Deployment,
        clock: ControlledClock,
        *,
        settings: Settings,
        say: Callable[[str], None] = log.info,
    ) -> None:
        self.deployment = deployment
        self.clock = clock
        self.settings = settings
        self.say = say
        self._building = asyncio.Lock()
        self.throttles: tuple[Throttle, ...] = ()
        self._throttle_clock = "real"

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
                "password": user.password or "",
                "api_key": user.api_key,
                "role": self._role(user.id),
                "current_dc": self.deployment.dc_by_id(user.current_dc).name,
            }
            for user in self.deployment.users.values()
            if user.api_key
        ]

    def _role(self, user_id: int) -> str:
        user = self.deployment.users[user_id]
        names = {dc.id: dc.name for dc in self.deployment.dcs.values()}
        if user.is_staff:
            return "SuperAdmin"
        if user.admin_dcs:
            return "admin of " + ", ".join(names[i] for i in sorted(user.admin_dcs))
        in_dcs = sorted({*user.dcs, user.current_dc})
        return "user in " + ", ".join(names[i] for i in in_dcs)

    def _overview(self) -> dict[str, Any]:
        self.deployment.settle()
        store, now = self.deployment.store, self.clock.now()
        return {
            "clock": self._clock(),
            "tasks": store.count_tasks(),
            "running": store.count_listed(now),
            "log_entries": store.count_log(),
            "dcs": [dc.name for dc in self.deployment.dcs.values()],
            "accounts": self._accounts(),
        }

    async def overview(self) -> Response:
        return self._json(HTTPStatus.OK, self._overview())

    async def accounts(self) -> Response:
        return self._json(HTTPStatus.OK, self._accounts())

    # -- the world -----------------------------------------------------------------------

    async def _replace(self, load: Any, **install_options: Any) -> None:
        """Build the world ``load`` reads beside the one being served, off the event loop
        (a million tasks take a minute, and every other request is answered meanwhile, from
        the old world), then serve it: all of the new world, or the old one, never half of
        each. One build at a time; a second waits for the first."""
        async with self._building:
            store = self.deployment.store
            now = self.clock.now()
            progress = Progress(self.say, "building the world")
            try:
                built = await asyncio.to_thread(_build, load, now, progress, install_options)
            except WorldError as exc:
                raise ControlError(str(exc)) from None
            if store.path == ":memory:":
                self.deployment.replace_store(built)
            else:  # a file, perhaps served by other processes too: the world goes into it
                built.succeed(store)
                try:
                    await asyncio.to_thread(built.copy_into, store.path, progress)
                finally:
                    built.close()
                self.deployment.reload_accounts()
            progress.finish()
        for throttle in self.throttles:
            throttle.reset()

    async def reset(self, body: Any = None) -> Response:
        body = body or {}
        path = self.settings.world or DEMO_WORLD
        await self._replace(
            lambda now: read_world(path, now),
            history_tasks=body.get("history", self.settings.history),
            seed=body.get("seed", self.settings.seed),
        )
        return self._json(HTTPStatus.OK, self._overview())

    async def exportWorld(self) -> Response:
        self.deployment.settle()
        world = export(self.deployment.store, self.clock.now())
        return self._json(HTTPStatus.OK, to_doc(world))

    async def replaceWorld(self, body: Any, at: str | None = None) -> Response:
        if at is not None:
            moment = _moment(at, "at")
            try:
                self.clock.set(moment, allow_backwards=True)
            except ValueError as exc:
                raise ControlError(f"at: {exc}") from None
        await self._replace(lambda now: world_from_doc(body, now))
        return self._json(HTTPStatus.OK, self._overview())

    # -- failures, workers and throttle ----------------------------------------------------

    def _failures(self) -> dict[str, Any]:
        failures = self.deployment.failures
        return {"system_update": failures.system_update, "result_backend": failures.result_backend}

    async def showFailures(self) -> Response:
        return self._json(HTTPStatus.OK, self._failures())

    async def setFailures(self, body: dict[str, Any]) -> Response:
        self.deployment.set_failures(Failures(**{**self._failures(), **body}))
        return self._json(HTTPStatus.OK, self._failures())

    def _workers(self) -> dict[str, Any]:
        return {
            str(queue): {"running": state.running}
            | ({} if state.since is None else {"since": write_time(state.since)})
            for queue, state in self.deployment.workers.items()
        }

    async def showWorkers(self) -> Response:
        return self._json(HTTPStatus.OK, self._workers())

    async def setWorkers(self, body: dict[str, Any]) -> Response:
        self.deployment.set_workers(
            {Queue(name): bool(state["running"]) for name, state in body.items()}
        )
        return self._json(HTTPStatus.OK, self._workers())

    def _throttle(self) -> dict[str, Any]:
        user, anon = self.throttles
        return {
            "enabled": user.enabled,
            "user_rate": f"{user.rate.requests}/{_period(user.rate.period)}",
            "anon_rate": f"{anon.rate.requests}/{_period(anon.rate.period)}",
            "clock": self._throttle_clock,
        }

    async def showThrottle(self) -> Response:
        return self._json(HTTPStatus.OK, self._throttle())

    async def setThrottle(self, body: dict[str, Any]) -> Response:
        from esdc_api.rates import Rate

        user, anon = self.throttles
        try:
            if "user_rate" in body:
                user.rate = Rate.parse(body["user_rate"])
            if "anon_rate" in body:
                anon.rate = Rate.parse(body["anon_rate"])
        except ValueError as exc:
            raise ControlError(str(exc)) from None
        if "enabled" in body:
            user.enabled = anon.enabled = bool(body["enabled"])
        if "clock" in body and body["clock"] != self._throttle_clock:
            self._throttle_clock = body["clock"]
            for throttle in self.throttles:
                if body["clock"] == "server":
                    throttle.use_clock(lambda: self.clock.now().timestamp())
                else:
                    import time

                    throttle.use_clock(time.monotonic)
        return self._json(HTTPStatus.OK, self._throttle())

    async def resetThrottle(self) -> Response:
        for throttle in self.throttles:
            throttle.reset()
        return self._json(HTTPStatus.OK, self._throttle())

    # -- the clock -----------------------------------------------------------------------------

    async def showClock(self) -> Response:
        return self._json(HTTPStatus.OK, self._clock())

    async def advanceClock(self, body: dict[str, Any]) -> Response:
        try:
            self.clock.advance(body["seconds"])
        except (OverflowError, ValueError) as exc:
            raise ControlError(f"seconds: cannot move the clock that far ({exc})") from None
        self.deployment.settle()
        return self._json(HTTPStatus.OK, self._clock())

    async def setClock(self, body: dict[str, Any]) -> Response:
        moment = _moment(body["at"], "at")
        now = self.clock.now()
        if moment < now:
            raise ClockConflict(
                f"at: {body['at']!r} is {(now - moment).total_seconds():g} s before the clock's "
                f"{now.isoformat()}: tasks would step back. PUT /control/world/?at=... starts "
                "a world over at an earlier moment"
            )
        try:
            self.clock.set(moment)
        except ValueError as exc:
            raise ControlError(f"at: {exc}") from None
        if "scale" in body:
            self.clock.set_scale(body["scale"])
        self.deployment.settle()
        return self._json(HTTPStatus.OK, self._clock())

    async def freezeClock(self) -> Response:
        self.clock.freeze()
        return self._json(HTTPStatus.OK, self._clock())

    async def runClock(self, body: Any = None) -> Response:
        self.clock.set_scale((body or {}).get("scale", 1))
        return self._json(HTTPStatus.OK, self._clock())

    # -- tasks ---------------------------------------------------------------------------------

    async def createTask(self, body: dict[str, Any]) -> Response:
        task = self.deployment.start_task(self._new_task(body))
        return self._json(HTTPStatus.CREATED, self._task(task))

    async def getTask(self, task_id: str) -> Response:
        return self._json(HTTPStatus.OK, self._task(self._find(task_id)))

    def _find(self, task_id: str) -> Task:
        task = self.deployment.store.get_task(task_id)
        if task is None:
            raise NotFound(f"No task {task_id!r}; GET /control/ shows what the server holds")
        return task

    async def publishMessage(self, task_id: str, body: Any = None) -> Response:
        body = body or {}
        task = self._find(task_id)
        now = self.clock.now()
        task.message = Message(
            eta=None if body.get("eta") is None else parse_time(body["eta"], now, "eta"),
            expires=None
            if body.get("expires") is None
            else parse_time(body["expires"], now, "expires"),
            revoked=bool(body.get("revoked", False)),
        )
        self.deployment.store.save_task(task)
        self.deployment.settle()
        return self._json(HTTPStatus.OK, self._task(self._find(task_id)))

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
        key = "hostname" if obj["type"] in ("vm", "node") else "name"
        call = {
            "view": body.get("view", "vm_status"),
            "method": body.get("method", "PUT"),
            key: obj["name"],
            **(body.get("params") or {}),
        }
        return NewTask(
            creator=creator,
            owner_id=owner.id,
            dc_id=dc.id,
            object=TaskObject(
                obj["type"], obj.get("pk", obj["name"]), obj["name"], obj.get("alias", "")
            ),
            msg=body.get("msg", "Start server"),
            call=call,
            type=TaskType(body.get("type", "e")),
            group=TaskGroup(body.get("group", "d")),
            queued=body.get("queued", 0),
            runs=body.get("runs", 5),
            outcome=Outcome(body.get("outcome", "SUCCESS")),
            result=body.get("result"),
            detail=body.get("detail", ""),
        )

    def _task(self, task: Task) -> dict[str, Any]:
        now = self.clock.now()
        final = task.final_step()
        started = next((s.at for s in task.steps if s.state is BackendState.STARTED), None)
        state, _result = task.backend(now)
        return {
            "task_id": task.id,
            "state": str(state.shown),
            "created_at": task.created_at.isoformat(),
            "started_at": None if started is None else started.isoformat(),
            "ends_at": None if final is None else final.at.isoformat(),
            "revoked_at": None
            if final is None or final.state is not BackendState.REVOKED
            else final.at.isoformat(),
            "outcome": None if final is None else str(final.state),
            "result": None if final is None else final.result,
            "msg": task.msg,
            "object": {
                "type": task.object.type,
                "name": task.object.name,
                "alias": task.object.alias,
            },
            "listed": task.is_listed(now),
            "queue": str(task.queue),
            "steps": [
                {"state": str(s.state), "at": s.at.isoformat(), "result": s.result}
                for s in task.steps
            ],
        }


def _build(
    load: Callable[[datetime], World], now: datetime, steps: Steps, options: dict[str, Any]
) -> Store:
    """The world ``load`` reads, as it stands at ``now``, in a store of its own (in memory)."""
    world = load(now)
    store = Store(":memory:")
    install(store, world, now, steps=steps, **options)
    return store


def _moment(text: Any, field: str) -> datetime:
    try:
        moment = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        raise ControlError(f"{field}: {text!r} is not an ISO 8601 moment") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _period(seconds: float) -> str:
    return {1.0: "s", 60.0: "min", 3600.0: "h", 86400.0: "d"}.get(seconds, f"{seconds:g}s")
