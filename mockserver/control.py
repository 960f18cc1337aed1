"""The control API: put the reference server into any state, outside ``/api/``."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

from connexion import request
from starlette.responses import Response

from mockserver import fates
from mockserver.clock import ControlledClock
from mockserver.controlpage import FILES, page_file, wants_page
from mockserver.deployment import Deployment, NewTask
from mockserver.dispatch import handler_for
from mockserver.errors import ApiError, FieldErrors, NotFound
from mockserver.faults import RESULT_BACKEND, SYSTEM_UPDATE, Faults, Rule, rule_from_json
from mockserver.ids import TaskGroup, TaskType
from mockserver.journal import Journal, Query
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
from mockserver.worldset import WORLD_KEY, LiveWorld, WorldSet

#: How far from the wall clock a clock at scale 1 may be and still count as real time (s).
REAL_TIME_TOLERANCE = 1.0

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


class ControlConflict(ApiError):
    """What the control API cannot do in the server's present state."""

    status = HTTPStatus.CONFLICT


class ClockConflict(ControlConflict):
    """A move that would send the clock, and the tasks, backwards."""


class Control:
    """Handlers of the control API for one deployment.

    :param load: reads the world a reset rebuilds, for a moment (the server's world file by
        default).
    """

    def __init__(
        self,
        deployment: Deployment,
        clock: ControlledClock,
        *,
        settings: Settings,
        load: Callable[[datetime], World] | None = None,
        say: Callable[[str], None] = log.info,
    ) -> None:
        self.deployment = deployment
        self.clock = clock
        self.settings = settings
        self.load = load or (lambda now: read_world(settings.world or DEMO_WORLD, now))
        self.say = say
        self._building = asyncio.Lock()
        self.throttles: tuple[Throttle, ...] = ()
        self.worlds: WorldSet | None = None
        self.journal = Journal(0)
        self.faults = Faults(deployment)
        #: The task API's operationIds, which fault rules may name.
        self.operation_ids: tuple[str, ...] = ()
        self._throttle_clock = "real"

    def resolve(self, operation_id: str) -> Any:
        """Connexion's function resolver: the handler for ``operation_id``."""
        return handler_for(self, operation_id)

    def resolve_per_world(self, operation_id: str) -> Any:
        """Connexion's function resolver: the handler for ``operation_id`` of the world the
        request is for (this control's by default). It has the signature of this control's own
        handler, which connexion reads to pass the parameters."""
        default = handler_for(self, operation_id)

        @functools.wraps(default)
        async def handler(*args: Any, **kwargs: Any) -> Any:
            world = request.scope.get(WORLD_KEY)
            own = self if world is None else world.control
            return await getattr(own, operation_id)(*args, **kwargs)

        return handler

    @staticmethod
    def _json(status: HTTPStatus, body: Any) -> Response:
        return json_response(status, body, accept=request.headers.get("accept"))

    def _clock(self, *, offset: bool = True) -> dict[str, Any]:
        """The clock's state; ``offset`` (from the wall clock) changes by itself on a clock
        that is not in real time, so the overview leaves it out."""
        now = self.clock.now()
        ahead = (now - datetime.now(UTC)).total_seconds()
        return {
            "now": now.isoformat(),
            "scale": self.clock.scale,
            "frozen": self.clock.frozen,
            "real_time": self.clock.scale == 1 and abs(ahead) < REAL_TIME_TOLERANCE,
        } | ({"offset": round(ahead, 3)} if offset else {})

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
            "clock": self._clock(offset=False),
            "tasks": store.count_tasks(),
            "running": store.count_listed(now),
            "log_entries": store.count_log(),
            "dcs": [dc.name for dc in self.deployment.dcs.values()],
            "accounts": self._accounts(),
        }

    async def overview(self) -> Response:
        if wants_page(request.headers.get("accept")):
            page = page_file("index.html")
            assert page is not None
            return page
        return self._json(HTTPStatus.OK, self._overview())

    async def pageFile(self, name: str) -> Response:
        page = page_file(name)
        if page is None:
            raise NotFound(f"No file {name!r} of the control page; it has {', '.join(FILES)}")
        return page

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
        await self._replace(
            self.load,
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

    # -- reloading ------------------------------------------------------------------------

    def _reload_state(self) -> dict[str, Any]:
        reloader = self._worlds().reloader
        if reloader is None:
            return {"enabled": False}
        state: dict[str, Any] = reloader.state.as_json()
        return state

    async def showReload(self) -> Response:
        return self._json(HTTPStatus.OK, self._reload_state())

    async def reloadNow(self, body: Any = None) -> Response:
        reloader = self._worlds().reloader
        if reloader is None:
            raise ControlConflict(
                "the server does not reload: start it with esdc-api serve --reload"
            )
        reloader.check()
        return self._json(HTTPStatus.OK, self._reload_state())

    # -- the request journal -------------------------------------------------------------

    async def listRequests(
        self,
        path: str | None = None,
        user: str | None = None,
        status: str | None = None,
        method: str | None = None,
        operation: str | None = None,
        since: int | None = None,
        limit: int | None = None,
    ) -> Response:
        query = Query(path, user, status, method, operation, since, limit)
        journal = self.journal
        return self._json(
            HTTPStatus.OK,
            {
                "size": journal.size,
                "recorded": journal.recorded,
                "processes": self.settings.workers,
                "requests": [entry.as_json() for entry in journal.select(query)],
            },
        )

    async def clearRequests(self, body: Any = None) -> Response:
        return self._json(HTTPStatus.OK, {"cleared": self.journal.clear()})

    # -- named worlds --------------------------------------------------------------------

    def _worlds(self) -> WorldSet:
        assert self.worlds is not None  # the application sets it
        return self.worlds

    @staticmethod
    def _world(world: LiveWorld) -> dict[str, Any]:
        world.deployment.settle()
        store, clock = world.deployment.store, world.clock
        return {
            "name": world.name,
            "api": f"{world.prefix}/api/",
            "control": f"{world.prefix}/control/",
            "created": world.created.isoformat(),
            "clock": {"now": clock.now().isoformat(), "scale": clock.scale, "frozen": clock.frozen},
            "tasks": store.count_tasks(),
            "log_entries": store.count_log(),
            "store_bytes": store.size(),
        }

    async def listWorlds(self) -> Response:
        worlds = self._worlds()
        return self._json(
            HTTPStatus.OK,
            {"limit": worlds.limit, "worlds": [self._world(world) for world in worlds]},
        )

    async def createWorld(self, body: dict[str, Any]) -> Response:
        at = None if body.get("at") is None else _moment(body["at"], "at")
        world = self._worlds().create(
            body["name"], document=body.get("world"), at=at, scale=body.get("scale")
        )
        return self._json(HTTPStatus.CREATED, self._world(world))

    async def showWorld(self, name: str) -> Response:
        return self._json(HTTPStatus.OK, self._world(self._worlds().find(name)))

    async def deleteWorld(self, name: str, body: Any = None) -> Response:
        return self._json(HTTPStatus.OK, self._world(self._worlds().delete(name)))

    # -- failures, workers and throttle ----------------------------------------------------

    def _failures(self) -> dict[str, Any]:
        self.faults.sync()
        backend = self.faults.get(RESULT_BACKEND)
        return {
            "system_update": self.faults.get(SYSTEM_UPDATE) is not None,
            "result_backend": "ok" if backend is None else backend.backend,
        }

    async def showFailures(self) -> Response:
        return self._json(HTTPStatus.OK, self._failures())

    async def setFailures(self, body: dict[str, Any]) -> Response:
        """A view onto two fault rules: ``failures-system-update`` and
        ``failures-result-backend``, each for every request it applies to."""
        faults = self.faults
        if "system_update" in body:
            if body["system_update"]:
                faults.add(Rule(SYSTEM_UPDATE, "system_update"))
            else:
                faults.remove(SYSTEM_UPDATE)
        if "result_backend" in body:
            if body["result_backend"] == "ok":
                faults.remove(RESULT_BACKEND)
            else:
                faults.add(Rule(RESULT_BACKEND, "result_backend", backend=body["result_backend"]))
        return self._json(HTTPStatus.OK, self._failures())

    # -- fault rules -----------------------------------------------------------------------

    def _rule(self, doc: Any, rule_id: str) -> Rule:
        return rule_from_json(
            doc,
            rule_id=rule_id,
            operations=self.operation_ids,
            users=[u.username for u in self.deployment.users.values()],
        )

    def _rules(self) -> dict[str, Any]:
        self.faults.sync()
        return {
            "rules": [rule.as_json() for rule in self.faults.rules],
            "held": self.faults.held,
        }

    async def listFaults(self) -> Response:
        return self._json(HTTPStatus.OK, self._rules())

    async def addFault(self, body: Any) -> Response:
        self.faults.sync()
        rule = self.faults.add(self._rule(body, self.faults.next_id()))
        return self._json(HTTPStatus.CREATED, rule.as_json())

    async def replaceFaults(self, body: dict[str, Any]) -> Response:
        rules = [self._rule(doc, f"rule-{n}") for n, doc in enumerate(body["rules"], 1)]
        if len({rule.id for rule in rules}) != len(rules):
            raise ControlError("id: two rules have the same id")
        self.faults.replace_all(rules)
        return self._json(HTTPStatus.OK, self._rules())

    async def clearFaults(self, body: Any = None) -> Response:
        self.faults.replace_all([])
        return self._json(HTTPStatus.OK, self._rules())

    async def showFault(self, rule_id: str) -> Response:
        self.faults.sync()
        return self._json(HTTPStatus.OK, self._find_rule(rule_id).as_json())

    async def deleteFault(self, rule_id: str, body: Any = None) -> Response:
        rule = self._find_rule(rule_id)
        self.faults.remove(rule.id)
        return self._json(HTTPStatus.OK, rule.as_json())

    def _find_rule(self, rule_id: str) -> Rule:
        rule = self.faults.get(rule_id)
        if rule is None:
            known = ", ".join(r.id for r in self.faults.rules) or "none"
            raise NotFound(f"No fault rule {rule_id!r}; the rules are {known}")
        return rule

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

    async def realTimeClock(self, body: Any = None) -> Response:
        ahead = self.clock.to_real_time(REAL_TIME_TOLERANCE)
        if ahead:
            raise ClockConflict(
                f"the clock shows {self.clock.now().isoformat()}, {ahead:g} s ahead of real "
                "time: going back to real time would send tasks backwards. PUT "
                "/control/world/?at=... starts a world over at an earlier moment"
            )
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

    async def listTasks(self, state: str | None = None, limit: int = 50) -> Response:
        self.deployment.settle()
        now = self.clock.now()
        tasks = self.deployment.store.recent_tasks(limit if state is None else 10_000)
        if state is not None:
            tasks = [t for t in tasks if str(t.backend(now)[0].shown) == state][:limit]
        return self._json(HTTPStatus.OK, [self._task(task) for task in tasks])

    async def getTask(self, task_id: str) -> Response:
        self.deployment.settle()
        return self._json(HTTPStatus.OK, self._task(self._find(task_id), full=True))

    async def finishTask(self, task_id: str, body: Any = None) -> Response:
        body = body or {}
        task = fates.finish(
            self.deployment,
            task_id,
            Outcome(body.get("outcome", "SUCCESS")),
            body.get("result"),
        )
        return self._json(HTTPStatus.OK, self._task(task, full=True))

    async def hangTask(self, task_id: str, body: Any = None) -> Response:
        return self._json(
            HTTPStatus.OK, self._task(fates.hang(self.deployment, task_id), full=True)
        )

    async def ignoreCancel(self, task_id: str, body: Any = None) -> Response:
        ignored = bool((body or {}).get("ignore", True))
        task = fates.set_cancel(self.deployment, task_id, ignored=ignored)
        return self._json(HTTPStatus.OK, self._task(task, full=True))

    def _find(self, task_id: str) -> Task:
        task = self.deployment.store.get_task(task_id)
        if task is None:
            raise NotFound(f"No task {task_id!r}; GET /control/tasks/ lists the tasks")
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

    def _task(self, task: Task, *, full: bool = False) -> dict[str, Any]:
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
            "cancel": task.cancel,
        } | (self._task_story(task) if full else {})

    def _task_story(self, task: Task) -> dict[str, Any]:
        """What a task went through, and what it will still do."""
        now = self.clock.now()
        return {
            "history": [
                {"state": str(c.state), "at": c.at.isoformat(), "result": c.result}
                | ({} if c.task == task.id else {"task": c.task})
                for c in fates.history(self.deployment, task)
            ],
            "planned": [
                {"state": str(s.state), "at": s.at.isoformat()} for s in task.steps if s.at > now
            ],
            "log": [
                {"time": e.time.isoformat(), "status": str(e.status), "detail": e.detail}
                for e in self.deployment.store.task_log(task.id)
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
