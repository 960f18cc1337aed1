"""The demo world: accounts, two datacenters and a day of task history.

Everything is derived from the moment the world is built and a seed, so the same start time
gives the same world (the docs build relies on it). Besides random history the world holds
*showcase* tasks with fixed ids, in every state; the spec's examples use the same ids.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from random import Random
from typing import Any

from mockserver.accounts import SYSTEM_USER_ID, Dc, User
from mockserver.deployment import final_entry, start_entry
from mockserver.ids import TaskGroup, TaskType, new_task_id
from mockserver.lifecycle import Outcome, Task, TaskObject
from mockserver.store import Store
from mockserver.tasklog import LogEntry

MAIN, LAB = 1, 2
DEMO_DCS = (Dc(MAIN, "main", is_default=True), Dc(LAB, "lab"))


def _user(
    id: int, name: str, current: int, dcs: set[int], admin: set[int] | None = None, **kw: Any
) -> User:
    return User(
        id=id,
        username=name,
        password=name,
        api_key=f"demo-{name}-key",
        current_dc=current,
        dcs=frozenset(dcs),
        admin_dcs=frozenset(admin or ()),
        **kw,
    )


#: The demo accounts: each one's password is its username, its API key ``demo-<name>-key``.
DEMO_USERS = (
    _user(1, "admin", MAIN, {MAIN, LAB}, is_staff=True),
    _user(2, "dcadmin", MAIN, {MAIN}, {MAIN}),
    _user(3, "alice", MAIN, {MAIN}),
    _user(4, "bob", MAIN, {MAIN, LAB}),
    _user(5, "labadmin", LAB, {LAB}, {LAB}),
)
#: Danube Cloud's system user, who runs automatic tasks; it cannot log in.
SYSTEM_USER = User(
    id=SYSTEM_USER_ID,
    username="_system",
    password=secrets.token_hex(16),
    api_key=None,
    current_dc=MAIN,
    dcs=frozenset({MAIN, LAB}),
    api_access=False,
)
ROLES = {
    "admin": "SuperAdmin",
    "dcadmin": "admin of datacenter main",
    "alice": "user in main",
    "bob": "user in main and lab",
    "labadmin": "admin of datacenter lab",
}


@dataclass(frozen=True)
class Owned:
    """An object of the demo world and who owns it."""

    object: TaskObject
    owner: int
    dc: int


def _vm(name: str, owner: int, dc: int = MAIN) -> Owned:
    host = f"{name}.example.com" if dc == MAIN else f"{name}.lab.example.com"
    return Owned(TaskObject("vm", host, host, name), owner, dc)


VMS = (
    _vm("web01", 3),
    _vm("web02", 3),
    _vm("web03", 3),
    _vm("db01", 4),
    _vm("db02", 4),
    _vm("ci01", 4, LAB),
    _vm("lab01", 5, LAB),
)
OTHERS = (
    Owned(TaskObject("node", "node01.example.com", "node01.example.com"), 1, MAIN),
    Owned(TaskObject("node", "node02.example.com", "node02.example.com"), 1, MAIN),
    Owned(TaskObject("image", "centos-7", "centos-7", "CentOS 7"), 2, MAIN),
    Owned(TaskObject("image", "ubuntu-24.04", "ubuntu-24.04", "Ubuntu 24.04"), 2, MAIN),
    Owned(TaskObject("subnet", "lan", "lan", "LAN"), 2, MAIN),
    Owned(TaskObject("domain", "example.com", "example.com"), 2, MAIN),
    Owned(TaskObject("user", "bob", "bob", "Bob"), 1, MAIN),
    Owned(TaskObject("dc", "main", "main", "Main datacenter"), 1, MAIN),
    Owned(TaskObject("image", "alpine-3", "alpine-3", "Alpine 3"), 5, LAB),
)


@dataclass(frozen=True)
class Operation:
    msg: str
    view: str
    method: str
    params: tuple[tuple[str, str], ...]
    seconds: tuple[int, int]
    done: str  # the success message, {name} is the object's name
    group: TaskGroup = TaskGroup.DC_BOUND


OPERATIONS: dict[str, tuple[Operation, ...]] = {
    "vm": (
        Operation(
            "Start server",
            "vm_status",
            "PUT",
            (("action", "start"),),
            (2, 20),
            "Successfully started VM {name}",
        ),
        Operation(
            "Stop server",
            "vm_status",
            "PUT",
            (("action", "stop"),),
            (5, 60),
            "Successfully stopped VM {name}",
        ),
        Operation(
            "Reboot server",
            "vm_status",
            "PUT",
            (("action", "reboot"),),
            (10, 60),
            "Successfully rebooted VM {name}",
        ),
        Operation(
            "Update server", "vm_manage", "PUT", (), (10, 120), "Successfully updated VM {name}"
        ),
        Operation(
            "Create server snapshot",
            "vm_snapshot",
            "POST",
            (("snapname", "manual"),),
            (3, 30),
            "Snapshot successfully created",
        ),
        Operation(
            "Delete server snapshot",
            "vm_snapshot",
            "DELETE",
            (("snapname", "manual"),),
            (2, 20),
            "Snapshot successfully deleted",
        ),
        Operation(
            "Create server backup",
            "vm_backup",
            "POST",
            (("bkpname", "manual"),),
            (60, 600),
            "Backup successfully created",
        ),
        Operation(
            "Migrate server", "vm_migrate", "PUT", (), (60, 600), "Server successfully migrated"
        ),
    ),
    "node": (
        Operation(
            "Update node",
            "node_define",
            "PUT",
            (),
            (2, 10),
            "Successfully updated node {name}",
            TaskGroup.DC_UNBOUND,
        ),
        Operation(
            "Refresh node",
            "node_sysinfo",
            "PUT",
            (),
            (5, 30),
            "Node {name} refreshed",
            TaskGroup.DC_UNBOUND,
        ),
    ),
    "image": (
        Operation("Import image", "image_manage", "POST", (), (30, 300), "Image {name} imported"),
        Operation("Update image", "image_manage", "PUT", (), (2, 10), "Image {name} updated"),
    ),
    "subnet": (
        Operation("Update network", "net_manage", "PUT", (), (1, 5), "Network {name} updated"),
    ),
    "domain": (
        Operation(
            "Create DNS record", "dns_record", "POST", (), (1, 5), "Record created in {name}"
        ),
    ),
    "user": (
        Operation(
            "Update user",
            "user_manage",
            "PUT",
            (),
            (1, 3),
            "User {name} updated",
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
            "Datacenter {name} updated",
        ),
    ),
}
AUTO_OPERATIONS = (
    Operation(
        "Create server snapshot",
        "vm_snapshot",
        "POST",
        (("snapname", "hourly"),),
        (3, 30),
        "Snapshot successfully created",
    ),
    Operation(
        "Create server backup",
        "vm_backup",
        "POST",
        (("bkpname", "daily"),),
        (60, 600),
        "Backup successfully created",
    ),
)
FAILURES = (
    "Got bad return code (1). Error: vmadm: operation timed out",
    "Got bad return code (22). Error: invalid argument",
    "Node node01.example.com is not operational",
    "Got bad return code (125). Error: not enough free space",
)


def install_accounts(store: Store) -> None:
    for dc in DEMO_DCS:
        store.add_dc(dc)
    for user in (*DEMO_USERS, SYSTEM_USER):
        store.add_user(user)


_USERNAMES = {u.id: u.username for u in (*DEMO_USERS, SYSTEM_USER)}


def _task(
    rng: Random,
    owned: Owned,
    op: Operation,
    creator: int,
    created: datetime,
    *,
    type: TaskType = TaskType.EXEC,
    outcome: Outcome = Outcome.SUCCESS,
    task_id: str | None = None,
    queued: float = 1.0,
    runs: float | None = None,
    params: dict[str, Any] | None = None,
) -> Task:
    if runs is None:
        runs = float(rng.randint(*op.seconds))
    obj = owned.object
    failure = rng.choice(FAILURES)
    result: Any = (
        {"message": op.done.format(name=obj.name), "returncode": 0}
        if outcome is Outcome.SUCCESS
        else {"returncode": 1, "message": f"{op.msg} failed", "detail": failure}
    )
    started = created + timedelta(seconds=queued)
    params = {
        "hostname" if obj.type in ("vm", "node") else "name": obj.name,
        **dict(op.params),
        **(params or {}),
    }
    tid = None
    if task_id is None:
        tid = new_task_id(creator, owned.owner, owned.dc, type=type, group=op.group, rng=rng)
        task_id = str(tid)
    task = Task(
        id=task_id,
        object=obj,
        view=op.view,
        method=op.method,
        msg=op.msg,
        params=params,
        username=_USERNAMES[creator],
        created_at=created,
        started_at=started,
        ends_at=started + timedelta(seconds=runs),
        outcome=outcome,
        result=result,
    )
    if tid is not None:
        task.tid = tid  # known already: a million tasks need not parse their ids again
    return task


def _creator_of(rng: Random, owned: Owned) -> int:
    if owned.owner in (3, 4) and rng.random() < 0.15:
        return 2 if owned.dc == MAIN else 5  # the datacenter's admin steps in now and then
    return owned.owner


def history(rng: Random, now: datetime, count: int, span: timedelta) -> Iterator[Task]:
    """``count`` random finished tasks of the ``span`` before ``now``, all ended a minute ago."""
    latest = now - timedelta(minutes=5)
    objects = VMS * 3 + OTHERS
    for _ in range(count):
        created = latest - timedelta(seconds=rng.random() * (span.total_seconds() - 300))
        owned = rng.choice(objects)
        if owned.object.type == "vm" and rng.random() < 0.25:
            op, creator, type = rng.choice(AUTO_OPERATIONS), SYSTEM_USER_ID, TaskType.AUTO
        else:
            op, creator, type = (
                rng.choice(OPERATIONS[owned.object.type]),
                _creator_of(rng, owned),
                TaskType.EXEC,
            )
        roll = rng.random()
        outcome = Outcome.FAILURE if roll < 0.09 else Outcome.SUCCESS
        task = _task(rng, owned, op, creator, created, type=type, outcome=outcome)
        assert task.ends_at is not None
        if task.ends_at > now - timedelta(minutes=1):
            task.ends_at = now - timedelta(minutes=1, seconds=rng.random() * 60)
        if roll > 0.96 and type is not TaskType.AUTO:
            task.revoked_at = task.started_at + (task.ends_at - task.started_at) / 2
            task.revoke_detail = "terminated (15)"
        yield task


def _op(kind: str, msg: str) -> Operation:
    return next(op for op in (*OPERATIONS[kind], *AUTO_OPERATIONS) if op.msg == msg)


def showcase(rng: Random, now: datetime) -> list[Task]:
    """The tasks the spec's examples name, at the same offsets from ``now``."""
    web01, web02, web03, db01 = VMS[0], VMS[1], VMS[2], VMS[3]
    node01 = OTHERS[0]
    s = timedelta(seconds=1)
    tasks = [
        _task(
            rng,
            web01,
            _op("vm", "Start server"),
            3,
            now - 900 * s,
            task_id="3e3d1-8c2f4a17-5b3e-4d21-a9f0",
            runs=9,
        ),
        _task(
            rng,
            web01,
            _op("vm", "Create server snapshot"),
            3,
            now - 117.809446 * s,
            task_id="3e3d1-4b1d9e06-2c7a-4f83-8e15",
            queued=1,
            runs=719,
            params={"snapname": "daily", "disk_id": 1},
        ),
        _task(
            rng,
            web02,
            _op("vm", "Start server"),
            3,
            now - 19.517887 * s,
            task_id="3e3d1-e7a05c3b-9d42-4b6e-a1c8",
            queued=80,
            runs=6,
        ),
        _task(
            rng,
            web02,
            _op("vm", "Stop server"),
            3,
            now - 1182.096786 * s,
            task_id="3e3d1-5d9c2e81-6f0b-4a37-bd94",
            outcome=Outcome.FAILURE,
            runs=60,
        ),
        _task(
            rng,
            web01,
            _op("vm", "Create server backup"),
            3,
            now - 2400 * s,
            task_id="3e3d1-a41f7b3c-0e2d-4c59-8f6a",
            runs=600,
        ),
        _task(
            rng,
            web03,
            _op("vm", "Update server"),
            3,
            now - 17231.9 * s,
            task_id="3e3d1-0b6e3f58-4d1c-4a9e-9e27",
            outcome=Outcome.FAILURE,
            runs=4,
        ),
        _task(
            rng,
            web01,
            _op("vm", "Create server backup"),
            SYSTEM_USER_ID,
            now - 31196.2 * s,
            type=TaskType.AUTO,
            task_id="7a3d1-3e9d2b71-6c0f-4b85-a2d6",
            runs=201,
        ),
        _task(
            rng,
            db01,
            _op("vm", "Migrate server"),
            4,
            now - 300 * s,
            task_id="4e4d1-2c8e5f19-3a7d-4e62-9c01",
            runs=1500,
        ),
        _task(
            rng,
            node01,
            Operation(
                "Update node software",
                "system_node_update",
                "PUT",
                (),
                (600, 600),
                "Node updated",
                TaskGroup.DC_BOUND,
            ),
            1,
            now - 600 * s,
            type=TaskType.MGMT,
            task_id="1m1d1-7b3a9d04-8c1e-4f25-a6d3",
            runs=2400,
        ),
    ]
    failed = tasks[3]
    failed.result = {
        "returncode": 1,
        "message": "Could not stop VM web02.example.com",
        "detail": "Got bad return code (1). Error: vmadm: stop timed out",
    }
    tasks[5].result = {
        "returncode": 22,
        "message": "Update server failed",
        "detail": "Got bad return code (22). Error: invalid disk size",
    }
    revoked = tasks[4]
    revoked.revoked_at = revoked.started_at + timedelta(seconds=240)
    revoked.revoke_detail = "terminated (15)"
    return tasks


def running(rng: Random, now: datetime) -> list[Task]:
    """Tasks of other users that are running now and end over the next minutes."""
    picks = [
        (VMS[4], _op("vm", "Create server backup"), SYSTEM_USER_ID, TaskType.AUTO, 240),
        (VMS[3], _op("vm", "Update server"), 4, TaskType.EXEC, 95),
        (OTHERS[2], _op("image", "Import image"), 2, TaskType.EXEC, 420),
        (VMS[5], _op("vm", "Reboot server"), 4, TaskType.EXEC, 150),
        (VMS[6], _op("vm", "Create server snapshot"), 5, TaskType.EXEC, 610),
        (OTHERS[1], _op("node", "Refresh node"), 1, TaskType.EXEC, 45),
    ]
    tasks = []
    for owned, op, creator, type, ends_in in picks:
        created = now - timedelta(seconds=rng.randint(5, 40))
        task = _task(rng, owned, op, creator, created, type=type, runs=1)
        task.ends_at = now + timedelta(seconds=ends_in)
        tasks.append(task)
    return tasks


def entries_of(tasks: list[Task], now: datetime) -> Iterator[LogEntry]:
    """The log entries these tasks have written by ``now``."""
    for task in tasks:
        yield start_entry(task)
        ended = task.ended_at
        if ended is not None and ended <= now:
            yield final_entry(task)


def populate(
    store: Store, now: datetime, *, seed: int = 0, tasks: int = 400, days: float = 1
) -> None:
    """Fill an empty ``store`` with the demo world as it stands at ``now``.

    :param tasks: how many finished tasks of random history to make (each logs two entries).
    :param days: how far back the history reaches.
    """
    rng = Random(seed)
    install_accounts(store)
    made = [
        *history(rng, now, tasks, timedelta(days=days)),
        *showcase(rng, now),
        *running(rng, now),
    ]
    with store.transaction():
        finished = [t for t in made if t.ended_at is not None and t.ended_at <= now]
        live = [t for t in made if t.ended_at is None or t.ended_at > now]
        store.add_tasks(finished, final_logged=True)
        store.add_tasks(live)
        store.add_log_entries(sorted(entries_of(made, now), key=lambda e: e.time))
    store.set_meta("built_at", now.isoformat())
    store.set_meta("seed", str(seed))
