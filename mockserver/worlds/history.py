"""Made-up history: finished tasks of the day before, with the log entries they wrote.

A world's ``history`` asks for a number of them; they are drawn from a seed, so the same seed
and moment give the same history (the docs build relies on it). Messages and details are the
ones real deployments write (Danube Cloud's message catalogue).
"""

from __future__ import annotations

from array import array
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import repeat
from operator import add
from random import Random
from typing import Any

from mockserver.accounts import SYSTEM_USER_ID
from mockserver.ids import TaskGroup, TaskId, TaskType
from mockserver.lifecycle import BackendState, Queue, Step, Task, TaskObject
from mockserver.logcounts import FINEST
from mockserver.logtable import task_key
from mockserver.progress import Steps, quiet
from mockserver.tasklog import LogEntry, LogStatus
from mockserver.worlds.model import WorldObject


@dataclass(frozen=True)
class Operation:
    msg: str
    view: str
    method: str
    params: tuple[tuple[str, object], ...]
    seconds: tuple[int, int]
    done: str  # the success message
    group: TaskGroup = TaskGroup.DC_BOUND


def _vm(
    msg: str, view: str, method: str, done: str, seconds: tuple[int, int], **params: object
) -> Operation:
    return Operation(msg, view, method, tuple(params.items()), seconds, done)


OPERATIONS: dict[str, tuple[Operation, ...]] = {
    "vm": (
        _vm("Start server", "vm_status", "PUT", "Successfully started VM", (2, 20), action="start"),
        _vm("Stop server", "vm_status", "PUT", "Successfully stopped VM", (5, 60), action="stop"),
        _vm(
            "Reboot server",
            "vm_status",
            "PUT",
            "Successfully rebooted VM",
            (10, 60),
            action="reboot",
        ),
        _vm(
            "Update server definition",
            "vm_define",
            "PUT",
            "Successfully updated server definition",
            (1, 5),
        ),
        _vm("Update server", "vm_manage", "PUT", "Successfully updated VM", (10, 120)),
        _vm(
            "Create snapshot of server's disk",
            "vm_snapshot",
            "POST",
            "Snapshot successfully created",
            (3, 30),
            snapname="manual",
            disk_id=1,
        ),
        _vm(
            "Delete snapshot of server's disk",
            "vm_snapshot",
            "DELETE",
            "Snapshot successfully deleted",
            (2, 20),
            snapname="manual",
            disk_id=1,
        ),
        _vm(
            "Create backup of server's disk",
            "vm_backup",
            "POST",
            "Backup successfully created",
            (60, 600),
            bkpname="manual",
            disk_id=1,
        ),
        _vm("Migrate server", "vm_migrate", "PUT", "Server successfully migrated", (60, 600)),
    ),
    "node": (
        Operation(
            "Update node",
            "node_define",
            "PUT",
            (),
            (2, 10),
            "Successfully updated node",
            TaskGroup.DC_UNBOUND,
        ),
        Operation(
            "Refresh node",
            "node_sysinfo",
            "PUT",
            (),
            (5, 30),
            "Successfully refreshed node",
            TaskGroup.DC_UNBOUND,
        ),
    ),
    "image": (
        Operation(
            "Import image", "image_manage", "POST", (), (30, 300), "Successfully imported image"
        ),
        Operation("Update image", "image_manage", "PUT", (), (2, 10), "Successfully updated image"),
    ),
    "subnet": (
        Operation(
            "Update network", "net_manage", "PUT", (), (1, 5), "Successfully updated network"
        ),
    ),
    "domain": (
        Operation(
            "Create DNS record", "dns_record", "POST", (), (1, 5), "Successfully created record"
        ),
    ),
    "user": (
        Operation(
            "Update user",
            "user_manage",
            "PUT",
            (),
            (1, 3),
            "Successfully updated user",
            TaskGroup.DC_UNBOUND,
        ),
    ),
    "dc": (
        Operation(
            "Update datacenter settings",
            "dc_settings",
            "PUT",
            (),
            (1, 5),
            "Successfully updated datacenter settings",
        ),
    ),
}
AUTO_OPERATIONS = (
    _vm(
        "Create snapshot of server's disk",
        "vm_snapshot",
        "POST",
        "Snapshot successfully created",
        (3, 30),
        snapname="hourly",
        disk_id=1,
    ),
    _vm(
        "Create backup of server's disk",
        "vm_backup",
        "POST",
        "Backup successfully created",
        (60, 600),
        bkpname="daily",
        disk_id=1,
    ),
)
FAILURES = (
    "Got bad return code (1). Error: vmadm: operation timed out",
    "Got bad return code (22). Error: invalid argument",
    "Node node01.example.com is not operational",
    "Got bad return code (125). Error: not enough free space",
)


def _call(obj: WorldObject, op: Operation) -> dict[str, object]:
    key = "hostname" if obj.type in ("vm", "node") else "name"
    return {"view": op.view, "method": op.method, key: obj.name, **dict(op.params)}


#: A drawn task: created and ended (microseconds since the epoch), the object, the operation,
#: the creator, the type, the outcome (:data:`SUCCEEDED`, :data:`FAILED` or :data:`REVOKED`),
#: the failure message drawn (used if it failed) and the 128 random bits of its id.
Drawn = tuple[int, int, WorldObject, Operation, int, TaskType, int, str, int]
SUCCEEDED, FAILED, REVOKED = 0, 1, 2
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SECOND = 1_000_000


def to_us(moment: datetime) -> int:
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * _SECOND + delta.microseconds


def from_us(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=us)


def _us(delta: timedelta) -> int:
    return (delta.days * 86_400 + delta.seconds) * _SECOND + delta.microseconds


def draws(
    rng: Random,
    now: datetime,
    count: int,
    span: timedelta,
    objects: Sequence[WorldObject],
    *,
    admins: dict[int, int],
) -> Iterator[Drawn]:
    """The random draws of ``count`` finished tasks, in the order :func:`history` makes them:
    times in microseconds, rounded as ``datetime`` arithmetic rounds them, so that the tasks
    and entries made from them are the same whichever way they are made."""
    now_us = to_us(now)
    latest_us = now_us - 5 * 60 * _SECOND
    window = span.total_seconds() - 300
    cutoff = now_us - 60 * _SECOND
    vms = [obj for obj in objects if obj.type == "vm"]
    weighted = [
        *vms,
        *vms,
        *vms,
        *(obj for obj in objects if obj.type in OPERATIONS and obj.type != "vm"),
    ]
    if not weighted:
        return
    random, choice, randint, getrandbits = rng.random, rng.choice, rng.randint, rng.getrandbits
    auto, exec_ = TaskType.AUTO, TaskType.EXEC
    for _ in range(count):
        created = latest_us - _us(timedelta(seconds=random() * window))
        obj = choice(weighted)
        owner = obj.owner_id or 1
        if obj.type == "vm" and random() < 0.25:
            op, creator, type_ = choice(AUTO_OPERATIONS), SYSTEM_USER_ID, auto
        else:
            op, type_ = choice(OPERATIONS[obj.type]), exec_
            creator = admins.get(obj.dc_id or 1, owner) if random() < 0.15 else owner
        roll = random()
        outcome = REVOKED if roll > 0.96 and type_ is not auto else FAILED if roll < 0.09 else 0
        started = created + _SECOND
        ended = started + randint(*op.seconds) * _SECOND
        if ended > cutoff:
            ended = now_us - _us(timedelta(minutes=1, seconds=random() * 60))
        failure = choice(FAILURES)
        bits = getrandbits(128)
        if outcome == REVOKED:
            # timedelta / 2: to the nearest microsecond, half to even
            half, odd = divmod(ended - started, 2)
            ended = started + half + (1 if odd and half % 2 else 0)
        yield created, ended, obj, op, creator, type_, outcome, failure, bits


def task_suffix(bits: int) -> str:
    """The id suffix ``new_task_id`` makes of 128 random bits (a UUID4's first 23 characters),
    without making the UUID."""
    bits = (bits & ~(0xC000 << 48) | 0x8000 << 48) & ~(0xF000 << 64) | 4 << 76
    digits = f"{bits:032x}"
    return f"-{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}"


def history(
    rng: Random,
    now: datetime,
    count: int,
    span: timedelta,
    objects: Sequence[WorldObject],
    usernames: dict[int, str],
    *,
    admins: dict[int, int],
    result_expires: timedelta,
) -> Iterator[tuple[Task | None, list[LogEntry]]]:
    """``count`` random finished tasks of the ``span`` before ``now``, each with its two log
    entries; a task whose result has expired by ``now`` is given as ``None`` (the deployment
    has forgotten it, and its id reads ``PENDING`` like any unknown one).

    :param admins: each datacenter's admin, who steps in on users' objects now and then.
    """
    for drawn in draws(rng, now, count, span, objects, admins=admins):
        task = drawn_task(drawn, usernames, result_expires)
        yield (
            task if task.expires_at is not None and task.expires_at > now else None,
            drawn_entries(drawn, task),
        )


def drawn_task(drawn: Drawn, usernames: dict[int, str], result_expires: timedelta) -> Task:
    """The task a draw makes."""
    created_us, ended_us, obj, op, creator, type_, outcome, failure, bits = drawn
    owner, dc = obj.owner_id or 1, obj.dc_id or 1
    tid = TaskId(
        creator, type_, owner, op.group, dc, task_suffix(bits), str(creator), str(owner), str(dc)
    )
    created, ended = from_us(created_us), from_us(ended_us)
    result: object
    if outcome == REVOKED:
        state, result, detail = (
            BackendState.REVOKED,
            "TaskRevokedError: terminated",
            "terminated (15)",
        )
    elif outcome == FAILED:
        state = BackendState.FAILURE
        result = {"returncode": 1, "stdout": "", "stderr": failure, "detail": failure}
        detail = failure
    else:
        state = BackendState.SUCCESS
        result = {"returncode": 0, "stdout": "", "stderr": "", "message": op.done}
        detail = op.done
    task = Task(
        id=str(tid),
        object=TaskObject(obj.type, obj.pk, obj.name, obj.alias),
        msg=op.msg,
        call=_call(obj, op),
        created_at=created,
        steps=[
            Step(created, BackendState.PENDING),
            Step(from_us(created_us + _SECOND), BackendState.STARTED),
            Step(ended, state, result),
        ],
        expires_at=ended + result_expires,
        username=usernames.get(creator, "_unknown_"),
        unlisted_at=ended,
        final_logged=True,
        queue=Queue.NODE,
        detail=detail,
    )
    task.tid = tid  # known already: a million tasks need not parse their ids again
    return task


def final_detail(drawn: Drawn) -> str:
    outcome, op, failure = drawn[6], drawn[3], drawn[7]
    return "terminated (15)" if outcome == REVOKED else failure if outcome == FAILED else op.done


def drawn_entries(drawn: Drawn, task: Task) -> list[LogEntry]:
    """The two log entries of a drawn task: its start and its end."""
    created_us, ended_us, obj, op, creator, _type, outcome, _failure, _bits = drawn
    owner, dc = obj.owner_id or 1, obj.dc_id or 1
    tid = task.tid
    status = (LogStatus.REVOKED, LogStatus.FAILURE, LogStatus.SUCCESS)
    ended_status = (
        status[0] if outcome == REVOKED else status[1] if outcome == FAILED else status[2]
    )
    common = (dc, creator, task.username, owner, obj.type, obj.pk, obj.name, obj.alias, op.msg)
    return [
        LogEntry(
            from_us(created_us),
            task.id,
            tid.log_type,
            LogStatus.PENDING,
            *common,
            task.start_detail(),
        ),
        LogEntry(
            from_us(ended_us), task.id, tid.log_type, ended_status, *common, final_detail(drawn)
        ),
    ]


#: Makes the ids a row of the log gives an entry's object and shape:
#: ``(user_id, username, object_type, object_pk, object_name, object_alias, msg, detail)``.
Shapes = Callable[[int, str, str, str, str, str, str, str], tuple[int, int]]


@dataclass
class Drawing:
    """The draws of :func:`draw_history`, a few dozen bytes a task in arrays: each task's
    times, the index of its template in :attr:`made`, the shape and status of its end, and the
    128 random bits of its id."""

    made: list[tuple[str, int, int, int, str, int, int, WorldObject, Operation, int]]
    created: array[int]
    ended: array[int]
    template: array[int]
    final_shape: array[int]
    final_status: array[int]
    high: array[int]
    low: array[int]

    def __len__(self) -> int:
        return len(self.created)

    def counted(self) -> Iterator[tuple[Any, ...]]:
        """How many of the tasks' entries fall in each of the log counters' finest buckets
        (:data:`mockserver.logcounts.FINEST`), by their key, as rows
        ``(bucket, dc_id, owner_id, task_type, status, object_type, object, n)``.

        Counted now (the draws are let go by :meth:`task_rows`), by C loops over numbers, a
        bucket and the key's index in one number, and decoded as the rows are read: a count
        of ten million entries by ten seconds holds a million numbers, and as many tuples
        would take several times the memory."""
        keys: dict[tuple[Any, ...], int] = {}
        of_template = [
            keys.setdefault((dc, owner, log_type, object_type, obj_id), len(keys))
            for _, log_type, dc, owner, object_type, obj_id, *_ in self.made
        ]
        by_index = list(keys)
        width = 4 * len(keys)  # a key's index and a status (0 to 3) under one bucket
        key_of = array("q", [of_template[t] * 4 for t in self.template])
        numbers: Counter[int] = Counter()
        for times, statuses in ((self.created, repeat(0)), (self.ended, self.final_status)):
            buckets = (t // FINEST * width for t in times)
            numbers.update(map(add, map(add, buckets, key_of), statuses))
        return _decoded(numbers, width, by_index)

    def task_rows(self) -> Iterator[tuple[Any, ...]]:
        """One row a task, in the order drawn: both its entries' times, the columns of the log
        (:data:`mockserver.logtable.TASK_COLUMNS`) that both share, and the status and shape
        of each (:meth:`mockserver.logtable.LogTable.load_tasks` writes them as entries).

        Given once: the draws are let go as the rows are handed over, so that the store's
        sort of a million entries does not find their 25 MB still held."""
        made, template, high, low = self.made, self.template, self.high, self.low
        final_shape, final_status = self.final_shape, self.final_status
        created, ended = self.created, self.ended
        for name in ("created", "ended", "template", "final_shape", "final_status", "high", "low"):
            setattr(self, name, array(getattr(self, name).typecode))
        for i, (created_us, ended_us) in enumerate(zip(created, ended, strict=True)):
            prefix, log_type, dc, owner, object_type, obj_id, start_shape, *_ = made[template[i]]
            task_id = prefix + task_suffix(high[i] << 64 | low[i])
            yield (
                created_us,
                ended_us,
                dc,
                owner,
                log_type,
                object_type,
                obj_id,
                start_shape,
                final_status[i],
                final_shape[i],
                task_id,
                task_key(task_id),
            )


def _decoded(
    numbers: Counter[int], width: int, by_index: list[tuple[Any, ...]]
) -> Iterator[tuple[Any, ...]]:
    """The rows of :meth:`Drawing.counted` from its numbers."""
    for number, n in numbers.items():
        bucket, rest = divmod(number, width)
        dc, owner, log_type, object_type, obj_id = by_index[rest >> 2]
        yield (bucket, dc, owner, log_type, rest & 3, object_type, obj_id, n)


def draw_history(
    rng: Random,
    now: datetime,
    count: int,
    span: timedelta,
    objects: Sequence[WorldObject],
    *,
    admins: dict[int, int],
    usernames: dict[int, str],
    result_expires: timedelta,
    tasks: list[Task],
    shapes: Shapes,
    steps: Steps = quiet,
) -> Drawing:
    """The draws of :func:`history`'s tasks, with the ids of their entries' objects and shapes
    (made by ``shapes``). Tasks and entries of the tasks the deployment has forgotten (all but
    the last hour's of a day) are never made; the ones it still knows are appended to
    ``tasks``. ``steps`` is told how many have been drawn.

    The same draws as :func:`draws`, made here with ``random``'s own steps written out
    (``choice`` and ``randint`` are ``_randbelow``, which is ``getrandbits`` until the value
    fits) and kept in arrays, a few dozen bytes a task. ``tests/mockserver/test_history.py``
    checks that they are the same as :func:`history`'s."""
    now_us, expires_us = to_us(now), _us(result_expires)
    latest_us = now_us - 5 * 60 * _SECOND
    window = span.total_seconds() - 300
    cutoff = now_us - 60 * _SECOND
    vms = [obj for obj in objects if obj.type == "vm"]
    weighted = [
        *vms,
        *vms,
        *vms,
        *(obj for obj in objects if obj.type in OPERATIONS and obj.type != "vm"),
    ]
    made: list[tuple[str, int, int, int, str, int, int, WorldObject, Operation, int]] = []
    created, ended = array("q"), array("q")
    template, final_shape, final_status = array("l"), array("l"), array("b")
    high, low = array("Q"), array("Q")
    drawing = Drawing(made, created, ended, template, final_shape, final_status, high, low)
    if not weighted:
        return drawing
    random, getrandbits = rng.random, rng.getrandbits
    n_weighted, k_weighted = len(weighted), len(weighted).bit_length()
    # per object: whether it is a vm, its operations and how many bits choosing one takes
    choices = {
        id(obj): (obj.type == "vm", OPERATIONS[obj.type], len(OPERATIONS[obj.type]).bit_length())
        for obj in weighted
    }
    n_auto, k_auto = len(AUTO_OPERATIONS), len(AUTO_OPERATIONS).bit_length()
    n_fail, k_fail = len(FAILURES), len(FAILURES).bit_length()
    templates: dict[tuple[int, int, int, bool], int] = {}
    finals: dict[tuple[int, int, int], int] = {}
    low_mask = 0xFFFFFFFFFFFFFFFF
    for drawn_so_far in range(count):
        if not drawn_so_far & 0x3FFF:
            steps("drawing the history's tasks", drawn_so_far, count)
        created_us = latest_us - _us(timedelta(seconds=random() * window))
        r = getrandbits(k_weighted)
        while r >= n_weighted:
            r = getrandbits(k_weighted)
        obj = weighted[r]
        is_vm, operations, k_ops = choices[id(obj)]
        if is_vm and random() < 0.25:
            r = getrandbits(k_auto)
            while r >= n_auto:
                r = getrandbits(k_auto)
            op, creator, auto = AUTO_OPERATIONS[r], SYSTEM_USER_ID, True
        else:
            n_ops = len(operations)
            r = getrandbits(k_ops)
            while r >= n_ops:
                r = getrandbits(k_ops)
            op, auto = operations[r], False
            owner = obj.owner_id or 1
            creator = admins.get(obj.dc_id or 1, owner) if random() < 0.15 else owner
        roll = random()
        outcome = REVOKED if roll > 0.96 and not auto else FAILED if roll < 0.09 else SUCCEEDED
        started_us = created_us + _SECOND
        lo, hi = op.seconds
        width = hi + 1 - lo
        k = width.bit_length()
        r = getrandbits(k)
        while r >= width:
            r = getrandbits(k)
        ended_us = started_us + (lo + r) * _SECOND
        if ended_us > cutoff:
            ended_us = now_us - _us(timedelta(minutes=1, seconds=random() * 60))
        r = getrandbits(k_fail)
        while r >= n_fail:
            r = getrandbits(k_fail)
        failure = r
        bits = getrandbits(128)
        if outcome == REVOKED:
            half, odd = divmod(ended_us - started_us, 2)  # timedelta / 2: half to even
            ended_us = started_us + half + (1 if odd and half % 2 else 0)
        key = (id(obj), id(op), creator, auto)
        index = templates.get(key)
        if index is None:
            index = templates[key] = len(made)
            made.append(_template(obj, op, creator, auto, usernames, shapes))
        final_key = (index, outcome, failure if outcome == FAILED else 0)
        shape = finals.get(final_key)
        if shape is None:
            detail = op.done if outcome == SUCCEEDED else "terminated (15)"
            detail = FAILURES[failure] if outcome == FAILED else detail
            user = usernames.get(creator, "_unknown_")
            shape = finals[final_key] = shapes(
                creator, user, obj.type, obj.pk, obj.name, obj.alias, op.msg, detail
            )[1]
        if ended_us + expires_us > now_us:
            drawn = (
                created_us,
                ended_us,
                obj,
                op,
                creator,
                TaskType.AUTO if auto else TaskType.EXEC,
                outcome,
                FAILURES[failure],
                bits,
            )
            tasks.append(drawn_task(drawn, usernames, result_expires))
        created.append(created_us)
        ended.append(ended_us)
        template.append(index)
        final_shape.append(shape)
        final_status.append(outcome + 1)  # mockserver.logtable.STATUS_CODES
        high.append(bits >> 64)
        low.append(bits & low_mask)
    return drawing


def _template(
    obj: WorldObject,
    op: Operation,
    creator: int,
    auto: bool,
    usernames: dict[int, str],
    shapes: Shapes,
) -> tuple[str, int, int, int, str, int, int, WorldObject, Operation, int]:
    """What the entries of every drawn task of one object, operation and creator share: the
    id's prefix, the task type, datacenter, owner, object, the start's shape."""
    owner, dc = obj.owner_id or 1, obj.dc_id or 1
    type_ = TaskType.AUTO if auto else TaskType.EXEC
    tid = TaskId(creator, type_, owner, op.group, dc, "", str(creator), str(owner), str(dc))
    username = usernames.get(creator, "_unknown_")
    obj_id, start_shape = shapes(
        creator, username, obj.type, obj.pk, obj.name, obj.alias, op.msg, _start_detail(obj, op)
    )
    return (str(tid), tid.log_type, dc, owner, obj.type, obj_id, start_shape, obj, op, creator)


def _start_detail(obj: WorldObject, op: Operation) -> str:
    """What :meth:`Task.start_detail` says for a drawn task (its call's parameters)."""
    probe = Task(
        id="",
        object=TaskObject(obj.type, obj.pk, obj.name),
        msg="",
        call=_call(obj, op),
        created_at=_EPOCH,
    )
    return probe.start_detail()
