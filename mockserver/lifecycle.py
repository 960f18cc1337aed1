"""The task state machine: PENDING, STARTED, then SUCCESS or FAILURE, or REVOKED if cancelled.

A task's state is not stored; it is read off the clock from the times the task was given
when it was created (when a worker picks it up, when it ends and how) and from when it was
revoked. Results expire :data:`RESULT_EXPIRES` after the task ends, after which the task reads
``PENDING`` again, as on real deployments.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property
from http import HTTPStatus
from typing import Any

from mockserver.ids import TaskId, TaskType
from mockserver.ids import parse as parse_task_id

#: How long a finished task's result is kept (celery's CELERY_TASK_RESULT_EXPIRES).
RESULT_EXPIRES = timedelta(seconds=3600)


class TaskState(enum.StrEnum):
    PENDING = "PENDING"
    STARTED = "STARTED"
    SUCCESS = "SUCCESS"
    FAILURE = "FAILURE"
    REVOKED = "REVOKED"

    @property
    def http_status(self) -> HTTPStatus:
        """The status code that /status/, /done/ and /cancel/ answer with in this state."""
        return HTTP_STATUS[self]

    @property
    def is_final(self) -> bool:
        return self in FINAL_STATES


#: The HTTP status of each state; the spec holds the same table (TaskState.x-http-status).
HTTP_STATUS: dict[TaskState, HTTPStatus] = {
    TaskState.PENDING: HTTPStatus.CREATED,
    TaskState.STARTED: HTTPStatus.CREATED,
    TaskState.SUCCESS: HTTPStatus.OK,
    TaskState.FAILURE: HTTPStatus.BAD_REQUEST,
    TaskState.REVOKED: HTTPStatus.GONE,
}
FINAL_STATES = frozenset({TaskState.SUCCESS, TaskState.FAILURE, TaskState.REVOKED})


class Outcome(enum.StrEnum):
    """How a task ends if nobody cancels it."""

    SUCCESS = "SUCCESS"
    FAILURE = "FAILURE"


@dataclass(frozen=True)
class TaskObject:
    """The object a task acts on, as the task log names it."""

    type: str  # one of the log's object types: vm, node, image, ...
    pk: str
    name: str
    alias: str = ""


@dataclass
class Task:
    """A task and its fate.

    ``ends_at`` is ``None`` for a task that runs until it is cancelled.
    """

    id: str
    object: TaskObject
    view: str
    method: str
    msg: str
    created_at: datetime
    started_at: datetime
    ends_at: datetime | None
    outcome: Outcome = Outcome.SUCCESS
    result: Any = None
    detail: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    username: str = ""
    revoked_at: datetime | None = None
    revoke_result: str = "terminated"
    revoke_detail: str = ""

    @cached_property
    def tid(self) -> TaskId:
        """The parsed id (parsed once: a task's id never changes)."""
        parsed = parse_task_id(self.id)
        if parsed is None:  # the store only holds ids it made or checked
            raise ValueError(f"invalid task id {self.id!r}")
        return parsed

    @property
    def is_mgmt(self) -> bool:
        return self.tid.type is TaskType.MGMT

    @property
    def ended_at(self) -> datetime | None:
        """When the task ended or will end (revoked or not); ``None`` if it never ends."""
        if self.revoked_at is not None:
            return self.revoked_at
        return self.ends_at

    def final_state(self) -> TaskState:
        """The state the task ends (or ended) in."""
        if self.revoked_at is not None:
            return TaskState.REVOKED
        return TaskState(self.outcome.value)

    def is_running(self, now: datetime) -> bool:
        """Whether the task is pending or started at ``now``."""
        ended = self.ended_at
        return self.created_at <= now and (ended is None or now < ended)

    def state(self, now: datetime) -> TaskState:
        """The state as the status endpoint reports it at ``now``."""
        ended = self.ended_at
        if ended is not None and now >= ended:
            if now >= ended + RESULT_EXPIRES:
                return TaskState.PENDING  # the result expired: celery no longer knows it
            return self.final_state()
        return TaskState.PENDING if now < self.started_at else TaskState.STARTED

    def next_change(self, now: datetime) -> datetime | None:
        """When :meth:`state` and :meth:`result_at` next change by the clock alone after
        ``now`` (they also change when the task is revoked); ``None`` if never."""
        if now < self.started_at:
            return self.started_at
        ended = self.ended_at
        if ended is None:
            return None
        if now < ended:
            return ended
        if now < ended + RESULT_EXPIRES:
            return ended + RESULT_EXPIRES
        return None

    def result_at(self, now: datetime) -> Any:
        """The ``result`` field of the status body at ``now``."""
        state = self.state(now)
        if state is TaskState.REVOKED:
            return self.revoke_result
        if state.is_final:
            return self.result
        return None

    def start_detail(self) -> str:
        """The ``detail`` of the entry written when the task starts: the view's parameters
        other than the object and the action, as ``key=value`` pairs."""
        return " ".join(
            f"{key}={value}"
            for key, value in self.params.items()
            if key not in ("hostname", "name", "action")
        )

    def final_detail(self) -> str:
        """The ``detail`` of the log entry written when the task ends."""
        if self.revoked_at is not None:
            return self.revoke_detail
        if self.detail:
            return self.detail
        if isinstance(self.result, dict):
            return str(self.result.get("detail") or self.result.get("message") or "")
        return ""


@dataclass(frozen=True)
class TaskStatus:
    """What /status/ says about a task: the requested id, its state and result."""

    task_id: str
    state: TaskState
    result: Any
    #: When this answer changes by the clock alone (:meth:`Task.next_change`).
    changes_at: datetime | None = field(default=None, compare=False)

    @property
    def http_status(self) -> HTTPStatus:
        return self.state.http_status

    @property
    def done(self) -> bool:
        """What /done/ says: true only after a successful end."""
        return self.state is TaskState.SUCCESS

    @classmethod
    def unknown(cls, task_id: str) -> TaskStatus:
        """A well-formed id nobody knows reads as pending, as celery reports it."""
        return cls(task_id, TaskState.PENDING, None)
