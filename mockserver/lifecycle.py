"""A task as Danube Cloud's result backend holds it, and what the status endpoints read of it.

A task's fate is a list of :class:`Step`: the states its result backend holds from given
moments on (``PENDING`` at creation, ``STARTED`` when a worker takes it, then ``SUCCESS``,
``FAILURE`` or ``REVOKED`` with a result). The demo world's tasks have steps in the future and
move through them as the clock runs; a recorded task has the one state it was recorded in.
What ``/status/`` answers is read off the steps at a moment, as real deployments read Celery:

- ``RETRY`` reads ``PENDING``, and a state that is not final shows no result;
- a finished task whose result names a *callback* reads the callback's state (so a task that
  had read ``STARTED`` reads ``PENDING``, then ``STARTED`` again while its callback runs);
- a result leaves the backend when it expires (an hour after it was stored by default), after
  which the task reads ``PENDING`` again;
- a dict result is shown without its ``meta`` and ``json`` keys.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import cached_property
from http import HTTPStatus
from typing import Any

from mockserver.ids import TaskId, TaskType
from mockserver.ids import parse as parse_task_id

#: How long a finished task's result is kept by default (CELERY_TASK_RESULT_EXPIRES).
RESULT_EXPIRES = timedelta(seconds=3600)


class TaskState(enum.StrEnum):
    """The states ``/status/`` answers with."""

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


class BackendState(enum.StrEnum):
    """The states Celery's result backend holds: the shown ones and ``RETRY``."""

    PENDING = "PENDING"
    STARTED = "STARTED"
    RETRY = "RETRY"
    SUCCESS = "SUCCESS"
    FAILURE = "FAILURE"
    REVOKED = "REVOKED"

    @property
    def shown(self) -> TaskState:
        """What the status endpoints answer for it: a retried task reads ``PENDING``."""
        return TaskState.PENDING if self is BackendState.RETRY else TaskState(self.value)

    @property
    def is_final(self) -> bool:
        return self.shown.is_final


class Outcome(enum.StrEnum):
    """How a task ends if nobody cancels it."""

    SUCCESS = "SUCCESS"
    FAILURE = "FAILURE"


class Queue(enum.StrEnum):
    """The worker queue a task runs on."""

    MGMT = "mgmt"
    NODE = "node"


#: The result of a task revoked by each reason, as the API renders Celery's TaskRevokedError.
REVOKED_RESULTS = {reason: f"TaskRevokedError: {reason}" for reason in ("revoked", "terminated")}
REVOKED_RESULTS["expired"] = "TaskRevokedError: expired"


@dataclass(frozen=True)
class TaskObject:
    """The object a task acts on, named as when the task was logged."""

    type: str  # the log's object type: vm, node, image, ... or "" for none
    pk: str
    name: str
    alias: str = ""


@dataclass(frozen=True)
class Step:
    """The result backend holds ``state`` (with ``result``) from ``at`` on."""

    at: datetime
    state: BackendState
    result: Any = None


@dataclass(frozen=True)
class Message:
    """A task's message in its worker queue: taken at ``eta`` (at once without one), or
    discarded if the task was revoked meanwhile or ``expires`` has passed."""

    eta: datetime | None = None
    expires: datetime | None = None
    revoked: bool = False


@dataclass(frozen=True)
class Revoke:
    """A revoke a stopped worker has not received yet."""

    at: datetime
    terminate: bool
    signal: int


@dataclass
class Task:
    """A task the deployment knows.

    :param steps: the result backend's states, in time order; none reads ``PENDING``.
    :param expires_at: when its result leaves the backend; ``None`` if never.
    :param listed: whether it is in the pending task lists from its creation on ...
    :param unlisted_at: ... until this moment (its end's log callback); ``None`` if never.
    :param end_logged: whether its final step writes a log entry.
    :param on_worker: whether a worker holds it, so that a cancel reaches it; a task the result
        backend alone knows (a recorded one) changes only through its steps or a message.
    :param cancel: ``revokes``, or ``ignored`` for a task whose cancel changes nothing.
    """

    id: str
    object: TaskObject
    msg: str
    call: dict[str, Any]
    created_at: datetime
    steps: list[Step] = field(default_factory=list)
    expires_at: datetime | None = None
    username: str = ""
    listed: bool = True
    unlisted_at: datetime | None = None
    end_logged: bool = True
    final_logged: bool = False
    queue: Queue = Queue.NODE
    on_worker: bool = True
    message: Message | None = None
    callback: str | None = None
    meta_status: int | None = None
    cancel: str = "revokes"
    detail: str = ""
    pending_revoke: Revoke | None = None

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

    # -- the steps -------------------------------------------------------------------------

    def step_at(self, moment: datetime) -> Step | None:
        """The step the backend holds at ``moment``, or ``None`` before the first one."""
        current = None
        for step in self.steps:
            if step.at > moment:
                break
            current = step
        return current

    def final_step(self) -> Step | None:
        """The step the task ends with, if it ends."""
        return next((step for step in self.steps if step.state.is_final), None)

    @property
    def ended_at(self) -> datetime | None:
        final = self.final_step()
        return None if final is None else final.at

    def backend(self, moment: datetime, now: datetime | None = None) -> tuple[BackendState, Any]:
        """The state and result the backend holds at ``moment`` (``now``, for expiry, defaults
        to ``moment``); an expired result reads as no result: ``PENDING``."""
        now = moment if now is None else now
        if self.expires_at is not None and now >= self.expires_at:
            return BackendState.PENDING, None
        step = self.step_at(moment)
        if step is None:
            return BackendState.PENDING, None
        return step.state, step.result

    def is_listed(self, now: datetime) -> bool:
        """Whether the task is in the pending lists at ``now``."""
        if not self.listed or now < self.created_at:
            return False
        return self.unlisted_at is None or now < self.unlisted_at

    def is_live(self, moment: datetime) -> bool:
        """Whether a worker holds the task at ``moment``: it is on one and has not ended."""
        ended = self.ended_at
        return self.on_worker and (ended is None or moment < ended)

    def has_started(self, moment: datetime) -> bool:
        return any(s.state is BackendState.STARTED and s.at <= moment for s in self.steps)

    def next_change(self, moment: datetime) -> datetime | None:
        """When what the task shows next changes by the clock alone after ``moment``."""
        times = [step.at for step in self.steps if step.at > moment]
        if self.expires_at is not None and self.expires_at > moment:
            times.append(self.expires_at)
        if self.unlisted_at is not None and self.unlisted_at > moment:
            times.append(self.unlisted_at)
        return min(times, default=None)

    def revoked_from(self, moment: datetime, reason: str) -> None:
        """End the task ``REVOKED`` at ``moment``: later steps are dropped, its result expires
        an hour later (or as the previous expiry was set apart from its end), and it leaves the
        lists then if it logs its end."""
        kept = [step for step in self.steps if step.at < moment and not step.state.is_final]
        self.steps = [*kept, Step(moment, BackendState.REVOKED, REVOKED_RESULTS[reason])]
        self.expires_at = moment + RESULT_EXPIRES
        if self.end_logged:
            self.unlisted_at = moment

    def finished_at(
        self, moment: datetime, state: BackendState, result: Any, expires: timedelta
    ) -> None:
        """End the task now as ``state`` says, with ``result``: steps it had planned after
        ``moment`` are dropped, a task still waiting starts at ``moment`` first, its result
        expires ``expires`` later and it leaves the lists then if it logs its end."""
        kept = [step for step in self.steps if step.at <= moment and not step.state.is_final]
        if not any(step.state is BackendState.STARTED for step in kept):
            kept.append(Step(moment, BackendState.STARTED))
        self.steps = [*kept, Step(moment, state, result)]
        self.expires_at = moment + expires
        self.message = self.pending_revoke = None
        if self.end_logged:
            self.unlisted_at = moment

    def hang(self) -> None:
        """Let the task run until it is cancelled: the end it had planned is dropped (and the
        moment its result would have expired, and it would have left the lists)."""
        self.steps = [step for step in self.steps if not step.state.is_final]
        self.expires_at = None
        if self.end_logged:
            self.unlisted_at = None

    def shifted(self, after: datetime, by: timedelta) -> Task:
        """The task with everything it would do after ``after`` moved ``by`` later (its worker
        was stopped that long)."""
        steps = [replace(s, at=s.at + by) if s.at > after else s for s in self.steps]
        moved = replace(self, steps=steps)
        if self.expires_at is not None and self.expires_at > after and self.on_worker:
            moved.expires_at = self.expires_at + by
        if self.unlisted_at is not None and self.unlisted_at > after and self.end_logged:
            moved.unlisted_at = self.unlisted_at + by
        if self.message is not None and self.message.eta is not None and self.message.eta > after:
            moved.message = replace(self.message, eta=self.message.eta + by)
        return moved

    # -- the log -----------------------------------------------------------------------------

    def start_detail(self) -> str:
        """The ``detail`` of the entry written when the task is created: the view's parameters
        other than the object and the action, as real deployments write them."""
        return ", ".join(
            f"{key}={value!r}" if isinstance(value, str) else f"{key}={value}"
            for key, value in self.call.items()
            if key not in ("hostname", "name", "action", "view", "method", "dc")
        )

    def final_detail(self) -> str:
        """The ``detail`` of the log entry written when the task ends."""
        final = self.final_step()
        if self.detail:
            return self.detail
        result = None if final is None else final.result
        if isinstance(result, dict):
            return str(result.get("detail") or result.get("message") or "")
        return ""


def shown_result(state: BackendState, result: Any) -> Any:
    """The ``result`` field of a status answer for a backend state and result."""
    if not state.is_final:
        return None
    if isinstance(result, dict):
        return {key: value for key, value in result.items() if key not in ("meta", "json")}
    return result


@dataclass(frozen=True)
class TaskStatus:
    """What /status/ says about a task: the requested id, its state, result and code."""

    task_id: str
    state: TaskState
    result: Any
    #: When this answer changes by the clock alone.
    changes_at: datetime | None = field(default=None, compare=False)
    #: The code a SUCCESS answer has instead of 200 (the result's ``meta.status``), once.
    success_code: int | None = None

    @property
    def http_status(self) -> HTTPStatus | int:
        if self.state is TaskState.SUCCESS and self.success_code:
            return self.success_code
        return self.state.http_status

    @property
    def done(self) -> bool:
        """What /done/ says: true only after a successful end."""
        return self.state is TaskState.SUCCESS

    @classmethod
    def unknown(cls, task_id: str) -> TaskStatus:
        """A well-formed id nobody knows reads as pending, as celery reports it."""
        return cls(task_id, TaskState.PENDING, None)


def due_at(task: Task) -> datetime | None:
    """When the deployment must next act for the task while its queue runs: write the entry of
    its end, take its message, or deliver a revoke; ``None`` if never."""
    times = []
    final = task.final_step()
    if final is not None and task.end_logged and not task.final_logged:
        times.append(final.at)
    if task.message is not None:
        times.append(task.message.eta or task.created_at)
    if task.pending_revoke is not None:
        times.append(task.pending_revoke.at)
    return min(times, default=None)
