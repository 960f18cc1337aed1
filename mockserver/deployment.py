"""A simulated Danube Cloud deployment: the one object the HTTP layer talks to.

Each method is one API operation, for one authenticated caller in one datacenter. Before it
reads anything, the deployment *settles*: every task that has ended by now gets its final log
entry, stamped with the moment it ended, so the log, the statistics and the task states always
agree whatever the clock did in between.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from random import Random
from typing import Any, TypeVar

from mockserver.accounts import Dc, Token, User
from mockserver.clock import Clock
from mockserver.errors import (
    AuthenticationFailed,
    CannotCancel,
    DcNotFound,
    DummyTask,
    InvalidPage,
    LoginFailed,
    PreconditionFailed,
    TaskNotFound,
    UnsafeDelete,
)
from mockserver.ids import TaskGroup, TaskType, new_task_id
from mockserver.lifecycle import Outcome, Task, TaskObject, TaskStatus
from mockserver.permissions import (
    require_admin,
    require_superadmin,
    require_task_creator,
    require_user_task,
)
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
    last_page_number,
)

SIGTERM, SIGKILL = 15, 9
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
    view: str = "vm_status"
    method: str = "PUT"
    params: dict[str, Any] = field(default_factory=dict)
    type: TaskType = TaskType.EXEC
    group: TaskGroup = TaskGroup.DC_BOUND
    queued: float = 0.0
    runs: float | None = 5.0
    outcome: Outcome = Outcome.SUCCESS
    result: Any = None
    detail: str = ""
    task_id: str | None = None


def log_entry(task: Task, status: LogStatus, at: datetime, detail: str) -> LogEntry:
    tid = task.tid
    return LogEntry(
        time=at,
        task=task.id,
        task_type=tid.log_type,
        status=status,
        dc_id=tid.dc,
        user_id=tid.creator,
        username=task.username,
        owner_id=tid.owner,
        object_type=task.object.type,
        object_pk=task.object.pk,
        object_name=task.object.name,
        object_alias=task.object.alias,
        msg=task.msg,
        detail=detail,
    )


def start_entry(task: Task) -> LogEntry:
    """The entry a task writes when it is created."""
    return log_entry(task, LogStatus.PENDING, task.created_at, task.start_detail())


def final_entry(task: Task) -> LogEntry:
    """The entry a task writes when it ends (or ended)."""
    ended = task.ended_at
    assert ended is not None, "a task that never ends has no final entry"
    return log_entry(task, LogStatus(task.final_state().value), ended, task.final_detail())


class Deployment:
    """The state and rules of one deployment.

    :param store: where the state lives.
    :param clock: the deployment's clock; tasks move through their states as it runs.
    :param rng: the source of new ids and tokens; seed it for reproducible runs.
    """

    def __init__(self, store: Store, clock: Clock, *, rng: Random | None = None) -> None:
        self.store = store
        self.clock = clock
        self.rng = rng or Random()
        self._settle_lock = threading.Lock()
        self._quiet: tuple[int, datetime | None] | None = None  # (store writes, next end)
        self.reload_accounts()

    def __repr__(self) -> str:
        return f"Deployment({self.store!r}, {self.clock!r})"

    def reload_accounts(self) -> None:
        """Read users and datacenters from the store again (after a reset)."""
        self.dcs = {dc.id: dc for dc in self.store.dcs()}
        self.users = {user.id: user for user in self.store.users()}
        self._by_key = {u.api_key: u for u in self.users.values() if u.api_key}
        self._by_name = {u.username: u for u in self.users.values()}

    def now(self) -> datetime:
        return self.clock.now()

    # -- authentication -------------------------------------------------------------------

    def user_by_api_key(self, key: str) -> User:
        user = self._by_key.get(key)
        if user is None:
            raise AuthenticationFailed("Invalid API key")
        return self._with_api_access(user)

    def user_by_token(self, key: str) -> User | None:
        """The user a token belongs to; ``None`` once it expired (it then counts as absent)."""
        token = self.store.token(key)
        if token is None:
            raise AuthenticationFailed("Invalid token.")
        if not token.is_valid(self.now()):
            return None
        return self._with_api_access(self.users[token.user_id])

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
        if user is None or not secrets.compare_digest(user.password.encode("utf-8"), given):
            raise LoginFailed()
        self._with_api_access(user)
        token = Token(f"{self.rng.getrandbits(160):040x}", user.id, self.now())
        self.store.save_token(token)
        return token

    def logout(self, token_key: str | None) -> None:
        if token_key:
            self.store.delete_token(token_key)

    # -- datacenters ----------------------------------------------------------------------

    def resolve_dc(self, user: User, name: str | None) -> Dc:
        """The datacenter a request runs in: the named one, or the caller's current one."""
        if name is None:
            return self.dcs[user.current_dc]
        for dc in self.dcs.values():
            if dc.name == name and user.may_use(dc.id):
                return dc
        raise DcNotFound()

    def dc_by_id(self, dc_id: int) -> Dc:
        return self.dcs[dc_id]

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
        started = now + timedelta(seconds=new.queued)
        task = Task(
            id=task_id,
            object=new.object,
            view=new.view,
            method=new.method,
            msg=new.msg,
            params=dict(new.params),
            username=new.creator.username,
            created_at=now,
            started_at=started,
            ends_at=None if new.runs is None else started + timedelta(seconds=new.runs),
            outcome=new.outcome,
            result=new.result,
            detail=new.detail,
        )
        with self.store.transaction():
            self.store.add_task(task)
            self.store.add_log_entries([start_entry(task)])
        return task

    def settle(self) -> None:
        """Write the final log entry of every task that has ended by now.

        It runs before every call, and mostly finds nothing to do: the deployment remembers
        when the next task ends, and asks the store only once that moment has come or the
        store has been written to since."""
        now = self.now()
        quiet = self._quiet
        if quiet is not None and quiet[0] == self.store.writes:
            if quiet[1] is None or now < quiet[1]:
                return
        with self._settle_lock:
            due = self.store.unsettled_tasks(now)
            if due:
                with self.store.transaction():
                    self.store.add_log_entries(final_entry(task) for task in due)
                    self.store.mark_settled(task.id for task in due)
            writes = self.store.writes  # read first: a write from now on is seen next time
            self._quiet = (writes, self.store.next_end())

    def _running_ids(self, user: User, dc: Dc) -> list[str]:
        owner = None if user.is_admin(dc.id) else user.id
        return self.store.running_task_ids(self.now(), dc.id, owner)

    def task_list(self, user: User, dc: Dc) -> list[str]:
        """The ids of the tasks running in ``dc``: all of them for its admins, else the ones
        acting on the caller's objects."""
        return self._running_ids(user, dc)

    def _running_task(self, task_id: str, dc: Dc) -> Task:
        task = self.store.get_task(task_id)
        if task is None or task.tid.dc != dc.id or not task.is_running(self.now()):
            raise TaskNotFound()
        return task

    def task_details(self, user: User, dc: Dc, task_id: str) -> dict[str, Any]:
        """The call that started a running task of ``dc``."""
        require_user_task(user, task_id, self.dcs)
        task = self._running_task(task_id, dc)
        return {
            "view": task.view,
            "method": task.method,
            **task.params,
            "time": task.created_at.isoformat(),
            "task_id": task.id,
        }

    def task_status(self, user: User, task_id: str) -> TaskStatus:
        """The state of a task; unknown ids read ``PENDING``, dummy ids are refused."""
        tid = require_user_task(user, task_id, self.dcs)
        if tid.is_dummy:
            raise DummyTask()
        return self._status(task_id)

    def _status(self, task_id: str) -> TaskStatus:
        task = self.store.get_task(task_id)
        if task is None:
            return TaskStatus.unknown(task_id)
        now = self.now()
        return TaskStatus(task_id, task.state(now), task.result_at(now), task.next_change(now))

    def task_cancel(self, user: User, dc: Dc, task_id: str, *, force: bool = False) -> TaskStatus:
        """Revoke a running task of the caller's and answer with its state."""
        tid = require_task_creator(user, task_id, self.dcs)
        if tid.type is TaskType.MGMT or task_id not in self._running_ids(user, dc):
            raise CannotCancel()
        signal = SIGKILL if force else SIGTERM
        self._revoke(task_id, result="terminated", detail=f"terminated ({signal})")
        return self._status(task_id)

    def task_delete(self, user: User, dc: Dc, task_id: str, *, force: bool = False) -> str:
        """Delete (revoke, logged as vanished) a running task; SuperAdmins only."""
        require_superadmin(user)
        require_user_task(user, task_id, self.dcs)
        self._running_task(task_id, dc)
        if not force:
            raise UnsafeDelete()
        self._revoke(task_id, result="terminated", detail="vanished")
        return "Delete pending"

    def _revoke(self, task_id: str, *, result: str, detail: str) -> None:
        self.store.revoke_task(task_id, self.now(), result, detail)
        self.settle()

    # -- the task log ---------------------------------------------------------------------

    def _visibility(self, user: User, dc: Dc) -> Visibility:
        return Visibility.for_user(user, dc.id, dc_is_default=dc.is_default)

    def log_last(self, user: User, dc: Dc) -> list[LogEntry]:
        """The last 10 entries the caller's cache holds; no filters."""
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

    def log_stats(self, user: User, dc: Dc, last: int) -> Stats:
        """Entries of each status written in the last ``last`` seconds; admins only."""
        require_admin(user, dc.id)
        try:
            since = self.now() - timedelta(seconds=last)
        except OverflowError:
            raise PreconditionFailed('Invalid "last" parameter') from None
        vis = self._visibility(user, dc)
        counts = self.store.log_counts_since(vis, since)
        oldest = self.store.log_first_since(vis, since)
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
