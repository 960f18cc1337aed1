"""A simulated Danube Cloud deployment: the one object the HTTP layer talks to.

Each method is one API operation, for one authenticated caller in one datacenter. Before it
reads anything, the deployment *settles*: what its workers have done by now is written down, in
the order it happened — a task's end logged (stamped with the moment it ended) and the task taken
off the pending lists, a queued message taken or discarded, a revoke delivered, a delete's log
callback run — so the log, the lists and the task states always agree whatever the clock did in
between. A queue whose workers are stopped does nothing until they start again; then every
task of it carries on where it was, its remaining steps later by the time they were stopped.
"""

from __future__ import annotations

import json
import math
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from random import Random
from typing import Any, TypeVar

from mockserver.accounts import SYSTEM_USER_ID, Dc, Token, User
from mockserver.clock import Clock, ControlledClock
from mockserver.errors import (
    AuthenticationFailed,
    CannotCancel,
    DcNotFound,
    DummyTask,
    InactiveUser,
    InvalidPage,
    LoginFailed,
    PreconditionFailed,
    TaskNotFound,
    UnknownError,
    UnsafeDelete,
)
from mockserver.ids import TaskGroup, TaskType, new_task_id
from mockserver.lifecycle import (
    BackendState,
    Outcome,
    Queue,
    Revoke,
    Step,
    Task,
    TaskObject,
    TaskStatus,
    shown_result,
)
from mockserver.permissions import (
    require_admin,
    require_superadmin,
    require_task_creator,
    require_user_task,
)
from mockserver.pyset import set_order
from mockserver.store import Store
from mockserver.tasklog import (
    LAST_SIZE,
    LogEntry,
    LogFilter,
    LogStatus,
    Order,
    Page,
    Stats,
    Visibility,
    final_entry,
    last_page_number,
    log_entry,
    start_entry,
)
from mockserver.worlds.model import WorkerState, WorldSettings

SIGTERM, SIGKILL = 15, 9
#: How long a delete's log callback waits for its task to finish before it runs anyway
#: (TASK_PARENT_STATUS_MAXWAIT).
CALLBACK_MAX_WAIT = timedelta(seconds=15)
#: How long a cancel waits before it reads the task's state (the real view sleeps a second).
CANCEL_WAIT = timedelta(seconds=1)
T = TypeVar("T")


@dataclass(frozen=True)
class NewTask:
    """What to start: who, on what, and how it will end.

    :param queued: seconds the task waits (``PENDING``) before a worker starts it.
    :param runs: seconds it then runs (``STARTED``); ``None`` to run until cancelled.
    """

    creator: User
    owner_id: int
    dc_id: int
    object: TaskObject
    msg: str
    call: dict[str, Any] = field(default_factory=lambda: {"view": "vm_status", "method": "PUT"})
    type: TaskType = TaskType.EXEC
    group: TaskGroup = TaskGroup.DC_BOUND
    queued: float = 0.0
    runs: float | None = 5.0
    outcome: Outcome = Outcome.SUCCESS
    result: Any = None
    detail: str = ""
    task_id: str | None = None


def steps_for(
    created: datetime, queued: float, runs: float | None, outcome: Outcome, result: Any
) -> list[Step]:
    """The steps of a task that waits ``queued`` seconds, runs ``runs`` and ends as ``outcome``
    says (``runs`` ``None``: until cancelled)."""
    started = created + timedelta(seconds=queued)
    steps = [Step(created, BackendState.PENDING), Step(started, BackendState.STARTED)]
    if runs is not None:
        steps.append(Step(started + timedelta(seconds=runs), BackendState(outcome.value), result))
    return steps


class Deployment:
    """The state and rules of one deployment.

    :param store: where the state lives.
    :param clock: the deployment's clock; tasks move through their states as it runs.
    :param rng: the source of new ids; seed it for reproducible runs.
    """

    def __init__(self, store: Store, clock: Clock, *, rng: Random | None = None) -> None:
        self.store = store
        self.clock = clock
        self.rng = rng or Random()
        self._settle_lock = threading.Lock()
        self._quiet: tuple[int, datetime | None] | None = None  # (store writes, next due)
        self._config: str | None = None
        if isinstance(clock, ControlledClock):
            clock.on_change = self._clock_changed
        self.reload_accounts()

    def __repr__(self) -> str:
        return f"Deployment({self.store!r}, {self.clock!r})"

    def reload_accounts(self) -> None:
        """Read users, datacenters, settings and workers from the store again (after a new
        world was put in)."""
        self.store.writes  # noqa: B018 -- first notices a world another connection put in
        self.dcs = {dc.id: dc for dc in self.store.dcs()}
        self.users = {user.id: user for user in self.store.users()}
        self._by_key = {u.api_key: u for u in self.users.values() if u.api_key}
        self._by_name = {u.username: u for u in self.users.values()}
        raw = self.store.get_meta("settings")
        self.settings = WorldSettings(**json.loads(raw)) if raw else WorldSettings()
        self.workers = self._read_workers()
        self._quiet = None
        if isinstance(self.clock, ControlledClock):
            shared = self.store.get_meta("clock")
            if shared is None:
                self._clock_changed()  # a new world: other processes show this clock
            elif shared != json.dumps(self.clock.state()):
                self.clock.restore(json.loads(shared))
        self._config = self.store.config_version

    def replace_store(self, store: Store) -> None:
        """Serve the world in ``store`` from now on (one built beside this one, in memory)."""
        old = self.store
        store.writes = old.writes + 1  # what was kept of the old world is stale
        self.store = store
        old.close()
        self.reload_accounts()

    def sync(self) -> None:
        """Read again what another process serving the same database changed: accounts,
        settings, workers, the clock (a no-op in a database of its own)."""
        if self.store.config_version != self._config:
            self.reload_accounts()

    def share_clock(self) -> None:
        """Make the clock of this process the one every process on the database shows."""
        self._clock_changed()

    def _clock_changed(self) -> None:
        if isinstance(self.clock, ControlledClock):
            self.store.set_meta("clock", json.dumps(self.clock.state()))
            self.store.config_changed(answers=False)
            self._config = self.store.config_version

    def now(self) -> datetime:
        return self.clock.now()

    @property
    def result_expires(self) -> timedelta:
        return timedelta(seconds=self.settings.result_expires)

    @property
    def token_lifetime(self) -> timedelta:
        return timedelta(seconds=self.settings.token_lifetime)

    # -- workers --------------------------------------------------------------------------

    def _read_workers(self) -> dict[Queue, WorkerState]:
        raw = json.loads(self.store.get_meta("workers") or "{}")
        found = {queue: WorkerState() for queue in Queue}
        for name, state in raw.items():
            since = state.get("since")
            found[Queue(name)] = WorkerState(
                state["running"], None if since is None else datetime.fromisoformat(since)
            )
        return found

    def _write_workers(self) -> None:
        self.store.set_meta(
            "workers",
            json.dumps(
                {
                    str(queue): {
                        "running": state.running,
                        "since": None if state.since is None else state.since.isoformat(),
                    }
                    for queue, state in self.workers.items()
                }
            ),
        )

    def running_queues(self) -> list[str]:
        return [str(queue) for queue, state in self.workers.items() if state.running]

    def set_workers(self, running: dict[Queue, bool]) -> None:
        """Start or stop queues' workers. A queue started again shifts its tasks' remaining
        steps later by the time it was stopped; messages, revokes and callbacks then run."""
        self.settle()
        now = self.now()
        with self.store.transaction():
            for queue, run in running.items():
                state = self.workers[queue]
                if run == state.running:
                    continue
                if run:
                    stopped = state.since or now
                    pause = now - stopped
                    if pause > timedelta(0):
                        for task in self.store.queue_tasks(str(queue)):
                            if task.on_worker and task.is_live(stopped):
                                self.store.save_task(task.shifted(stopped, pause))
                    self.workers[queue] = WorkerState(True, now)
                else:
                    self.workers[queue] = WorkerState(False, now)
            self._write_workers()
            self.store.config_changed()
        self._config = self.store.config_version
        self._quiet = None
        self.settle()

    def _moment(self, task: Task, now: datetime) -> datetime:
        """The moment a task's steps are read at: now, or when its queue's workers stopped."""
        state = self.workers.get(task.queue)
        if task.on_worker and state is not None and not state.running and state.since:
            return min(now, state.since)
        return now

    # -- authentication -------------------------------------------------------------------

    def user_by_api_key(self, key: str) -> User:
        user = self._by_key.get(key)
        if user is None:
            raise AuthenticationFailed("Invalid API key")
        if not user.is_active:
            raise InactiveUser()
        return self._with_api_access(user)

    def user_by_token(self, key: str) -> User | None:
        """The user a token belongs to; ``None`` once it expired (it then counts as absent)."""
        token = self.store.token(key)
        if token is None:
            raise AuthenticationFailed("Invalid token.")
        user = self.users.get(token.user_id)
        if user is None or not user.is_active:
            raise AuthenticationFailed("User inactive or deleted.")
        if not token.is_valid(self.now(), self.token_lifetime):
            return None
        return self._with_api_access(user)

    @staticmethod
    def _with_api_access(user: User) -> User:
        if not user.api_access:
            raise AuthenticationFailed("User account is not allowed to access API")
        return user

    def login(self, username: str, password: str) -> Token:
        """Open a session: a new token, which replaces the user's previous one."""
        user = self._by_name.get(username)
        # compare_digest refuses str with non-ASCII characters: compare the UTF-8 bytes
        # (surrogatepass: JSON may carry a lone surrogate, which is just a wrong password)
        given = password.encode("utf-8", "surrogatepass")
        if (
            user is None
            or user.password is None
            or not secrets.compare_digest(user.password.encode("utf-8"), given)
        ):
            raise LoginFailed()
        if not user.is_active:
            raise LoginFailed("User account is disabled.")
        if not user.api_access:
            raise LoginFailed("User account is not allowed to access API.")
        # Tokens are secrets whatever the seed: never drawn from the world's generator.
        token = Token(secrets.token_hex(20), user.id, self.now())
        self.store.save_token(token)
        return token

    def token_expires(self, token: Token) -> datetime:
        return token.expires_at(self.token_lifetime)

    def logout(self, token_key: str | None) -> None:
        if token_key:
            self.store.delete_token(token_key)

    # -- datacenters ----------------------------------------------------------------------

    def resolve_dc(self, user: User, name: str | None) -> Dc:
        """The datacenter a request runs in: the named one, or the caller's current one."""
        if name is None:
            return self.dcs[user.current_dc]
        for dc in self.dcs.values():
            if dc.name == name and user.may_use(dc):
                return dc
        raise DcNotFound()

    def dc_by_id(self, dc_id: int) -> Dc:
        return self.dcs[dc_id]

    def default_dc(self) -> Dc:
        return next(dc for dc in self.dcs.values() if dc.is_default)

    # -- tasks ----------------------------------------------------------------------------

    def start_task(self, new: NewTask) -> Task:
        """Create a task now; it writes its ``PENDING`` log entry at once."""
        now = self.now()
        if new.task_id is not None:
            task_id = new.task_id
        else:
            # The ids come from the same seed as the demo world's (and a reused database holds
            # the ids of earlier runs), so a fresh id can be a taken one: draw again.
            while True:
                task_id = str(
                    new_task_id(
                        new.creator.id,
                        new.owner_id,
                        new.dc_id,
                        type=new.type,
                        group=new.group,
                        rng=self.rng,
                    )
                )
                if self.store.get_task(task_id) is None:
                    break
        steps = steps_for(now, new.queued, new.runs, new.outcome, new.result)
        final = steps[-1] if steps[-1].state.is_final else None
        task = Task(
            id=task_id,
            object=new.object,
            msg=new.msg,
            call=dict(new.call),
            created_at=now,
            steps=steps,
            expires_at=None if final is None else final.at + self.result_expires,
            username=new.creator.username,
            unlisted_at=None if final is None else final.at,
            queue=Queue.MGMT if new.type is TaskType.MGMT else Queue.NODE,
            detail=new.detail,
        )
        if not self.workers[task.queue].running:
            task = task.shifted(now - timedelta(microseconds=1), timedelta(0))
        with self.store.transaction():
            self.store.add_task(task)
            self.store.add_log_entries([start_entry(task)])
        return task

    def settle(self) -> None:
        """Write down what the workers have done by now, in the order it happened.

        It runs before every call and mostly finds nothing to do: the deployment remembers
        when something next falls due, and asks the store only once that moment has come or
        the store has been written to since."""
        now = self.now()
        quiet = self._quiet
        if quiet is not None and quiet[0] == self.store.writes:
            if quiet[1] is None or now < quiet[1]:
                return
        with self._settle_lock:
            queues = self.running_queues()
            tasks, events, next_job = self._due(now, queues)
            if events:
                # Again under the write lock: another process serving the same database may
                # have written these down meanwhile.
                with self.store.transaction():
                    tasks, events, next_job = self._due(now, queues)
                    for at, _order, kind, payload in events:
                        self._apply(kind, at, payload, tasks)
                    for task in tasks.values():
                        self.store.save_task(task)
            writes = self.store.writes  # read first: a write from now on is seen next time
            due = self.store.next_due(queues)
            if next_job is not None and (due is None or next_job < due):
                due = next_job
            self._quiet = (writes, due)

    def _due(
        self, now: datetime, queues: list[str]
    ) -> tuple[dict[str, Task], list[tuple[datetime, int, str, Any]], datetime | None]:
        """The tasks with something due by ``now``, what is due in the order it happens, and
        when the next delete callback is due."""
        tasks = {task.id: task for task in self.store.due_tasks(now, queues)}
        events: list[tuple[datetime, int, str, Any]] = []
        for task in tasks.values():
            events += [(at, 0, kind, task.id) for at, kind in self._task_events(task, now)]
        next_job = None
        if Queue.MGMT.value in queues:
            for job in self.store.jobs():
                run_at = self._job_time(job, now)
                if run_at <= now:
                    events.append((run_at, 1, "job", job))
                elif next_job is None or run_at < next_job:
                    next_job = run_at
        events.sort(key=lambda event: (event[0], event[1]))
        return tasks, events, next_job

    def _task_events(self, task: Task, now: datetime) -> list[tuple[datetime, str]]:
        """What falls due for a task by ``now``: ``message``, ``revoke``, ``end``."""
        since = self.workers[task.queue].since
        events = []
        if task.message is not None:
            take = task.message.eta or task.created_at
            take = max(take, since) if since else take
            if take <= now:
                events.append((take, "message"))
        if task.pending_revoke is not None:
            at = max(task.pending_revoke.at, since) if since else task.pending_revoke.at
            if at <= now:
                events.append((at, "revoke"))
        final = task.final_step()
        if final is not None and task.end_logged and not task.final_logged and final.at <= now:
            events.append((final.at, "end"))
        return events

    def _apply(self, kind: str, at: datetime, payload: Any, tasks: dict[str, Task]) -> None:
        if kind == "job":
            self._run_job(payload, at)
            return
        task = tasks[payload]
        if kind == "message":
            self._take_message(task, at)
        elif kind == "revoke" and task.pending_revoke is not None:
            revoke, task.pending_revoke = task.pending_revoke, None
            self._revoke_live(task, at, revoke.terminate, revoke.signal)
        final = task.final_step()
        if final is not None and task.end_logged and not task.final_logged and final.at <= at:
            self.store.add_log_entries([final_entry(task)])
            task.final_logged = True

    def _take_message(self, task: Task, at: datetime) -> None:
        """A worker takes the task's message: discards it (revoked, or expired), or runs it."""
        message, task.message = task.message, None
        assert message is not None
        reason = None
        if message.revoked:
            reason = "revoked"
        elif message.expires is not None and at >= message.expires:
            reason = "expired"
        if reason is None:
            if not task.has_started(at) and task.final_step() is None:
                task.steps = [*task.steps, Step(at, BackendState.STARTED)]
            return
        if task.queue is Queue.MGMT:
            # The mgmt worker connects no revoke handler: the task reads REVOKED, logs
            # nothing and stays listed (as recorded on 4.6).
            task.end_logged = False
        task.revoked_from(at, reason)
        task.detail = reason

    def _revoke_live(self, task: Task, at: datetime, terminate: bool, signal: int) -> None:
        """A revoke reaches the worker holding a task: a task it runs is terminated (when asked
        to), one that waits to start is discarded when its start comes."""
        if not task.is_live(at):
            return
        if task.has_started(at):
            if terminate:
                task.revoked_from(at, "terminated")
                task.detail = f"terminated ({signal})"
            return
        started = next((s.at for s in task.steps if s.state is BackendState.STARTED), at)
        task.revoked_from(max(started, at), "revoked")
        task.detail = "revoked"

    def _revoke(self, task: Task, now: datetime, *, terminate: bool, signal: int) -> None:
        """Revoke a task, as ``celery revoke`` does: it reaches only a worker that holds it."""
        state, _result = task.backend(self._moment(task, now), now)
        if task.cancel == "ignored" or state.is_final:
            return
        if task.message is not None:
            task.message = replace(task.message, revoked=True)
        elif not task.on_worker:
            return  # no worker holds it: the revoke goes nowhere (a recorded task)
        elif not self.workers[task.queue].running:
            task.pending_revoke = Revoke(now, terminate, signal)
        else:
            self._revoke_live(task, now, terminate, signal)
        self.store.save_task(task)

    def _job_time(self, job: tuple[int, str, datetime, str], now: datetime) -> datetime:
        """When a delete's log callback runs: once the mgmt worker takes it, at once if its task
        has finished, else when it does (checked each second) or after 15 s at most."""
        _id, task_id, queued, _detail = job
        since = self.workers[Queue.MGMT].since
        taken = max(queued, since) if since else queued
        task = self.store.get_task(task_id)
        ended = None if task is None else task.ended_at
        if ended is None or ended >= taken + CALLBACK_MAX_WAIT:
            return taken + CALLBACK_MAX_WAIT
        if ended <= taken:
            return taken
        return taken + timedelta(seconds=math.ceil((ended - taken).total_seconds()))

    def _run_job(self, job: tuple[int, str, datetime, str], at: datetime) -> None:
        job_id, task_id, _queued, detail = job
        task = self.store.get_task(task_id)
        if task is not None:
            self.store.add_log_entries([log_entry(task, LogStatus.REVOKED, at, detail)])
            if task.unlisted_at is None or task.unlisted_at > at:
                task.unlisted_at = at
                self.store.save_task(task)
        self.store.remove_job(job_id)

    # -- the task endpoints ----------------------------------------------------------------

    def task_list(self, user: User, dc: Dc) -> list[str]:
        """The ids of the tasks in the pending lists of ``dc``: every one for its admins, else
        the ones acting on the caller's objects; in a Python 2 set's order, as real deployments
        give them (:mod:`mockserver.pyset`)."""
        owner = None if user.is_admin(dc.id) else user.id
        return set_order(reversed(self.store.listed_task_ids(self.now(), dc.id, owner)))

    def _listed_task(self, task_id: str, dc: Dc) -> Task:
        task = self.store.get_task(task_id)
        if task is None or task.tid.dc != dc.id or not task.is_listed(self.now()):
            raise TaskNotFound()
        return task

    def task_details(self, user: User, dc: Dc, task_id: str) -> dict[str, Any]:
        """The call that started a pending task of ``dc``."""
        require_user_task(user, task_id, self.dcs)
        task = self._listed_task(task_id, dc)
        return {**task.call, "time": task.created_at.isoformat(), "task_id": task.id}

    def task_status(self, user: User, task_id: str) -> TaskStatus:
        """The state of a task; unknown ids read ``PENDING``, dummy ids are refused."""
        tid = require_user_task(user, task_id, self.dcs)
        if tid.is_dummy:
            raise DummyTask()
        return self.status_at(task_id, self.now())

    def status_at(self, task_id: str, moment: datetime) -> TaskStatus:
        """What the status endpoints answer for ``task_id`` at ``moment`` (a SUCCESS answer's
        ``meta.status`` is given once, then forgotten, as real deployments pop it)."""
        task = self.store.get_task(task_id)
        if task is None:
            return TaskStatus.unknown(task_id)
        state, result, shown, changes = self.shown_state(task, moment)
        code = None
        if state is BackendState.SUCCESS and shown is not None and shown.meta_status:
            with self.store.transaction():  # given once, whichever process answers first
                again = self.store.get_task(shown.id)
                if again is not None and again.meta_status:
                    code = again.meta_status
                    again.meta_status = None
                    self.store.save_task(again)
        moments = [c for c in changes if c is not None]
        return TaskStatus(
            task_id,
            state.shown,
            shown_result(state, result),
            changes_at=min(moments, default=None),
            success_code=code,
        )

    def shown_state(
        self, task: Task, moment: datetime
    ) -> tuple[BackendState, Any, Task | None, list[datetime | None]]:
        """What the status endpoints read for ``task`` at ``moment``, without side effects: the
        state and result, the task they belong to (its callback's, once it finished with one;
        ``None`` for a callback nobody knows) and when each task read next changes."""
        shown: Task | None = task
        state, result = task.backend(self._moment(task, moment), moment)
        changes = [task.next_change(moment)]
        seen = {task.id}
        while state.is_final and shown is not None and shown.callback is not None:
            if shown.callback in seen:
                break
            seen.add(shown.callback)
            callback = self.store.get_task(shown.callback)
            if callback is None:
                state, result, shown = BackendState.PENDING, None, None
                break
            shown = callback
            state, result = shown.backend(self._moment(shown, moment), moment)
            changes.append(shown.next_change(moment))
        return state, result, shown, changes

    def task_cancel(self, user: User, dc: Dc, task_id: str, *, force: bool = False) -> datetime:
        """Revoke a pending task of the caller's; return the moment its answer reads the task
        at (real deployments wait a second before they do)."""
        tid = require_task_creator(user, task_id, self.dcs)
        if tid.type is TaskType.MGMT or task_id not in self.task_list(user, dc):
            raise CannotCancel()
        now = self.now()
        with self.store.transaction():  # read and written under the write lock
            task = self.store.get_task(task_id)
            if task is not None:
                self._revoke(task, now, terminate=True, signal=SIGKILL if force else SIGTERM)
                self._quiet = None
        return now + CANCEL_WAIT

    def task_delete(self, user: User, dc: Dc, task_id: str, *, force: bool = False) -> str:
        """Delete a pending task, SuperAdmins only: revoke it (without terminating it) and let
        a log callback on the mgmt queue log it ``REVOKED`` and take it off the lists."""
        require_superadmin(user)
        require_user_task(user, task_id, self.dcs)
        task = self._listed_task(task_id, dc)
        if not force:
            raise UnsafeDelete()
        now = self.now()
        with self.store.transaction():  # read and written under the write lock
            task = self._listed_task(task_id, dc)
            self._revoke(task, now, terminate=False, signal=SIGTERM)
        if task.tid.owner == SYSTEM_USER_ID:
            raise UnknownError()  # the log callback refuses the system user's tasks
        self.store.add_job(task_id, now, "vanished")
        self._quiet = None
        return "Delete pending"

    # -- the task log ---------------------------------------------------------------------

    def _visibility(self, user: User, dc: Dc) -> Visibility:
        return Visibility.for_user(user, dc.id, dc_is_default=dc.is_default)

    def log_last(self, user: User, dc: Dc) -> list[LogEntry]:
        """The last 10 entries written to the caller's cached list; no filters."""
        return self.store.log_last(Visibility.for_last(user, dc.id), LAST_SIZE)

    def log_last_json(self, user: User, dc: Dc) -> list[str]:
        """:meth:`log_last`, each entry as JSON (:meth:`LogEntry.as_cached_item`)."""
        return self.store.log_last_json(Visibility.for_last(user, dc.id), LAST_SIZE)

    def log_page(
        self, user: User, dc: Dc, flt: LogFilter, number: int, order: Order
    ) -> Page[LogEntry]:
        """One page of the filtered log; a page past the end raises :class:`InvalidPage`."""
        return self._page(user, dc, flt, number, order, self.store.log_page)

    def log_page_json(
        self, user: User, dc: Dc, flt: LogFilter, number: int, order: Order
    ) -> Page[str]:
        """:meth:`log_page`, each entry as JSON (:meth:`LogEntry.as_page_item`)."""
        return self._page(user, dc, flt, number, order, self.store.log_page_json)

    def _page(
        self,
        user: User,
        dc: Dc,
        flt: LogFilter,
        number: int,
        order: Order,
        read: Callable[[Visibility, LogFilter, datetime, int, Order], list[T]],
    ) -> Page[T]:
        if number < 1:
            raise InvalidPage()
        vis, now = self._visibility(user, dc), self.now()
        count = self.store.log_count(vis, flt, now)
        if number > last_page_number(count):
            raise InvalidPage()
        return Page(number, count, read(vis, flt, now, number, order))

    def log_stats(self, user: User, dc: Dc, last: int, *, expiry: bool = True) -> Stats:
        """Entries of each status written in the last ``last`` seconds; admins only.

        :param expiry: also find when the counts change by the clock alone
            (:attr:`Stats.changes_at`, for whoever keeps the answer); without it, that is
            ``None``."""
        require_admin(user, dc.id)
        try:
            since = self.now() - timedelta(seconds=last)
        except OverflowError:
            raise PreconditionFailed('Invalid "last" parameter') from None
        vis = self._visibility(user, dc)
        counts = self.store.log_counts_since(vis, since)
        oldest = self.store.log_first_since(vis, since) if expiry else None
        return Stats(
            pending=counts[LogStatus.PENDING],
            revoked=counts[LogStatus.REVOKED],
            succeeded=counts[LogStatus.SUCCESS],
            failed=counts[LogStatus.FAILURE],
            last=last,
            # The window [now - last, ...) still holds the oldest entry until this moment.
            changes_at=None if oldest is None else _after(oldest, last),
        )


def _after(moment: datetime, seconds: int) -> datetime | None:
    """The first instant at which ``now - seconds`` is past ``moment``; ``None`` beyond the
    calendar."""
    try:
        return moment + timedelta(seconds=seconds, microseconds=1)
    except OverflowError:
        return None
