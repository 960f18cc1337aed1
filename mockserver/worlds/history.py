"""Made-up history: finished tasks of the day before, with the log entries they wrote.

A world's ``history`` asks for a number of them; they are drawn from a seed, so the same seed
and moment give the same history (the docs build relies on it). Messages and details are the
ones real deployments write (Danube Cloud's message catalogue).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from random import Random

from mockserver.accounts import SYSTEM_USER_ID
from mockserver.ids import TaskGroup, TaskType, new_task_id
from mockserver.lifecycle import BackendState, Queue, Step, Task, TaskObject
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
    latest = now - timedelta(minutes=5)
    vms = [obj for obj in objects if obj.type == "vm"]
    weighted = [
        *vms,
        *vms,
        *vms,
        *(obj for obj in objects if obj.type in OPERATIONS and obj.type != "vm"),
    ]
    if not weighted:
        return
    for _ in range(count):
        created = latest - timedelta(seconds=rng.random() * (span.total_seconds() - 300))
        obj = rng.choice(weighted)
        owner = obj.owner_id or 1
        dc = obj.dc_id or 1
        if obj.type == "vm" and rng.random() < 0.25:
            op, creator, type_ = rng.choice(AUTO_OPERATIONS), SYSTEM_USER_ID, TaskType.AUTO
        else:
            op, type_ = rng.choice(OPERATIONS[obj.type]), TaskType.EXEC
            creator = admins.get(dc, owner) if rng.random() < 0.15 else owner
        roll = rng.random()
        failed = roll < 0.09
        revoked = roll > 0.96 and type_ is not TaskType.AUTO
        queued = 1.0
        runs = float(rng.randint(*op.seconds))
        started = created + timedelta(seconds=queued)
        ended = started + timedelta(seconds=runs)
        if ended > now - timedelta(minutes=1):
            ended = now - timedelta(minutes=1, seconds=rng.random() * 60)
        failure = rng.choice(FAILURES)
        tid = new_task_id(creator, owner, dc, type=type_, group=op.group, rng=rng)
        result: object
        if revoked:
            ended = started + (ended - started) / 2
            state, result, detail = (
                BackendState.REVOKED,
                "TaskRevokedError: terminated",
                "terminated (15)",
            )
        elif failed:
            state = BackendState.FAILURE
            result = {"returncode": 1, "stdout": "", "stderr": failure, "detail": failure}
            detail = failure
        else:
            state = BackendState.SUCCESS
            result = {"returncode": 0, "stdout": "", "stderr": "", "message": op.done}
            detail = op.done
        username = usernames.get(creator, "_unknown_")
        task = Task(
            id=str(tid),
            object=TaskObject(obj.type, obj.pk, obj.name, obj.alias),
            msg=op.msg,
            call=_call(obj, op),
            created_at=created,
            steps=[
                Step(created, BackendState.PENDING),
                Step(started, BackendState.STARTED),
                Step(ended, state, result),
            ],
            expires_at=ended + result_expires,
            username=username,
            unlisted_at=ended,
            final_logged=True,
            queue=Queue.NODE,
            detail=detail,
        )
        task.tid = tid  # known already: a million tasks need not parse their ids again
        start = LogEntry(
            created,
            task.id,
            tid.log_type,
            LogStatus.PENDING,
            dc,
            creator,
            username,
            owner,
            obj.type,
            obj.pk,
            obj.name,
            obj.alias,
            op.msg,
            task.start_detail(),
        )
        end = LogEntry(
            ended,
            task.id,
            tid.log_type,
            LogStatus(state.value),
            dc,
            creator,
            username,
            owner,
            obj.type,
            obj.pk,
            obj.name,
            obj.alias,
            op.msg,
            detail,
        )
        yield (
            (task if task.expires_at is not None and task.expires_at > now else None),
            [start, end],
        )
