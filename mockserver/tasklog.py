"""The task log: entries, who sees which, filters, pages and statistics.

A task writes a ``PENDING`` entry when it is created and a second entry (``SUCCESS``,
``FAILURE`` or ``REVOKED``) when it ends, as real deployments do. The log is shown in two
shapes: the last :data:`LAST_SIZE` entries as the cache keeps them, and pages of
:data:`PAGE_SIZE` entries as the database returns them.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any, Generic, TypeVar

from mockserver.accounts import User
from mockserver.lifecycle import Task

T = TypeVar("T")
LAST_SIZE = 10  # TASK_LOG_LASTSIZE
PAGE_SIZE = 100


class LogStatus(enum.StrEnum):
    """The statuses an entry records: STARTED is logged as PENDING."""

    PENDING = "PENDING"
    SUCCESS = "SUCCESS"
    FAILURE = "FAILURE"
    REVOKED = "REVOKED"


class Flag(enum.IntEnum):
    OTHER = 0
    CREATE = 1
    DELETE = 2
    UPDATE = 3
    REMOTE = 4


FLAG_WORDS = {
    Flag.CREATE: ("Add", "Create", "Recreate", "Import"),
    Flag.DELETE: ("Remove", "Delete", "Invalid"),
    Flag.UPDATE: ("Update", "Rollback", "Restore", "Revert"),
    Flag.REMOTE: ("Remote",),
}
#: task_type numbers of automatic tasks (type letter ``a``), which hide_auto leaves out.
AUTO_TASK_TYPES = (2, 102)


def flag_for(msg: str) -> Flag:
    """The flag real deployments derive from the first word of the message."""
    first = msg.split(" ", 1)[0]
    for flag, words in FLAG_WORDS.items():
        if first in words:
            return flag
    return Flag.OTHER


@dataclass(frozen=True)
class LogEntry:
    time: datetime
    task: str
    task_type: int
    status: LogStatus
    dc_id: int
    user_id: int
    username: str
    owner_id: int
    object_type: str
    object_pk: str
    object_name: str
    object_alias: str
    msg: str
    detail: str

    @property
    def flag(self) -> Flag:
        return flag_for(self.msg)

    def as_page_item(self) -> dict[str, Any]:
        """The entry as the paged (database) view shows it: time with a ``Z``."""
        return {
            "time": self.time.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "task": self.task,
            "status": str(self.status),
            "username": self.username,
            "msg": self.msg,
            "detail": self.detail,
            "object_name": self.object_name,
            "object_alias": self.object_alias,
            "object_type": self.object_type,
            "flag": int(self.flag),
        }

    def as_cached_item(self) -> dict[str, Any]:
        """The entry as the last-10 (cache) view shows it: ``task_type``, time with ``+00:00``."""
        return {
            "time": self.time.astimezone(UTC).isoformat(),
            "task": self.task,
            "status": str(self.status),
            "task_type": self.task_type,
            "flag": int(self.flag),
            "username": self.username,
            "object_type": self.object_type,
            "object_name": self.object_name,
            "object_alias": self.object_alias,
            "msg": self.msg,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class Visibility:
    """Which entries a caller sees in a datacenter.

    :param owner_id: only entries about objects of this owner (plain users), or all (admins).
    :param unbound_everywhere: also DC-unbound entries of every datacenter (SuperAdmins in the
        default datacenter).
    """

    dc_id: int
    owner_id: int | None
    unbound_everywhere: bool = False

    @classmethod
    def for_user(cls, user: User, dc_id: int, *, dc_is_default: bool) -> Visibility:
        if user.is_admin(dc_id):
            return cls(dc_id, None, unbound_everywhere=user.is_staff and dc_is_default)
        return cls(dc_id, user.id)

    @classmethod
    def for_last(cls, user: User, dc_id: int) -> Visibility:
        """The cache the last-10 view reads: the DC's staff cache, or the user's own."""
        return cls(dc_id, None if user.is_admin(dc_id) else user.id)


class Order(enum.StrEnum):
    NEWEST_FIRST = "-time"
    OLDEST_FIRST = "time"

    @classmethod
    def parse(cls, value: str) -> Order | None:
        """``time`` is oldest first; ``-time`` and ``+time`` newest first (real deployments)."""
        return {"time": cls.OLDEST_FIRST, "-time": cls.NEWEST_FIRST, "+time": cls.NEWEST_FIRST}.get(
            value
        )


@dataclass(frozen=True)
class LogFilter:
    """The filters of the paged view, already validated."""

    status: LogStatus | None = None
    object_type: str | None = None
    object_name: str | None = None
    show_running: bool = False
    hide_auto: bool = False
    date_from: date | None = None
    date_to: date | None = None

    def time_from(self) -> datetime | None:
        return _midnight(self.date_from)

    def time_to(self) -> datetime | None:
        return _midnight(self.date_to)


def _midnight(day: date | None) -> datetime | None:
    return None if day is None else datetime.combine(day, time(0), tzinfo=UTC)


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of the paged view: its entries as :class:`LogEntry` or already as JSON."""

    number: int
    count: int
    entries: list[T]

    @property
    def has_next(self) -> bool:
        return self.number * PAGE_SIZE < self.count

    @property
    def previous_number(self) -> int | None:
        """The previous page's number, or ``None`` for page 1 **and page 2**, as real
        deployments leave the link to page 1 out."""
        return self.number - 1 if self.number > 2 else None


def last_page_number(count: int) -> int:
    """The number of the last page; an empty log still has page 1."""
    return max(1, -(-count // PAGE_SIZE))


@dataclass(frozen=True)
class Stats:
    pending: int
    revoked: int
    succeeded: int
    failed: int
    last: int
    #: When the counts change by the clock alone: the oldest entry counted leaves the window.
    changes_at: datetime | None = field(default=None, compare=False)

    def as_json(self) -> dict[str, int]:
        return {
            "pending": self.pending,
            "revoked": self.revoked,
            "succeeded": self.succeeded,
            "failed": self.failed,
            "_last": self.last,
        }


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
    final = task.final_step()
    assert final is not None, "a task that never ends has no final entry"
    return log_entry(task, LogStatus(final.state.shown.value), final.at, task.final_detail())
