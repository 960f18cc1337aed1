"""The made-up history: the same draws as the generator it replaced, and the same rows built
straight into a store as through tasks and entries.

``reference_history`` is the generator as it was before the history was built in rows (issue
15), kept here as the definition of what a seed gives: the docs and the spec's examples rely
on the same seed giving the same history.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from random import Random

import pytest

from mockserver.accounts import SYSTEM_USER_ID
from mockserver.ids import TaskType, new_task_id
from mockserver.lifecycle import BackendState, Queue, Step, Task, TaskObject
from mockserver.store import Store
from mockserver.tasklog import LogEntry, LogStatus, final_entry, start_entry
from mockserver.worlds import DEMO_WORLD
from mockserver.worlds.history import (
    AUTO_OPERATIONS,
    FAILURES,
    OPERATIONS,
    _call,
    history,
    task_suffix,
)
from mockserver.worlds.install import install, read_world
from mockserver.worlds.model import History, World, WorldObject
from tests.mockserver.test_worlds import RECORDED


def reference_history(
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


MOMENTS = [
    datetime(2026, 11, 2, 12, 0, tzinfo=UTC),
    datetime(2026, 11, 2, 12, 0, 0, 123457, tzinfo=UTC),
    datetime(2031, 3, 9, 23, 59, 59, 999999, tzinfo=UTC),
]


@pytest.mark.parametrize("seed", [0, 1, 7, 12345])
@pytest.mark.parametrize("now", MOMENTS)
@pytest.mark.parametrize("span", [timedelta(days=1), timedelta(minutes=6), timedelta(days=30)])
def test_a_seed_gives_the_history_it_gave_before(seed: int, now: datetime, span: timedelta) -> None:
    world = read_world(DEMO_WORLD, now)
    usernames = {user.id: user.username for user in world.users}
    admins = {2: 2, 1: 3}
    options = dict(admins=admins, result_expires=timedelta(hours=1))
    count = 3000 if span < timedelta(hours=1) else 1500
    made = list(history(Random(seed), now, count, span, world.objects, usernames, **options))
    expected = list(
        reference_history(Random(seed), now, count, span, world.objects, usernames, **options)
    )
    assert len(made) == len(expected)
    for (task, entries), (task_expected, entries_expected) in zip(made, expected, strict=True):
        assert entries == entries_expected
        if task_expected is None:
            assert task is None
        else:
            assert task is not None
            assert (task.__dict__ | {"tid": None}) == (task_expected.__dict__ | {"tid": None})
            assert task.tid == task_expected.tid


def reference_install(store: Store, world: World, now: datetime, history_tasks: int) -> None:
    """What install did before the history was built in rows: every task and entry made,
    the entries sorted by time, written in one batch."""
    expires = timedelta(seconds=world.settings.result_expires)
    usernames = {user.id: user.username for user in world.users}
    admins = {d: u.id for u in world.users if not u.is_staff for d in u.admin_dcs}
    tasks: list[Task] = []
    entries: list[LogEntry] = []
    span = timedelta(seconds=world.history.span_seconds)
    for task, written in reference_history(
        Random(world.history.seed),
        now,
        history_tasks,
        span,
        world.objects,
        usernames,
        admins=admins,
        result_expires=expires,
    ):
        if task is not None:
            tasks.append(task)
        entries += written
    entries.sort(key=lambda entry: entry.time)
    own: list[LogEntry] = []
    for task in world.tasks:
        final = task.final_step()
        ended = final is not None and final.at <= now
        if world.derive_log:
            if task.created_at <= now:
                own.append(start_entry(task))
            if ended and task.end_logged:
                own.append(final_entry(task))
        tasks.append(replace(task, final_logged=ended or task.final_logged))
    if world.derive_log:
        entries = sorted([*entries, *own], key=lambda entry: entry.time)
    else:
        entries += world.log
    store.add_tasks(tasks)
    store.add_log_entries(entries)


def _recorded(now: datetime) -> World:
    world = read_world(RECORDED, now)
    world.history = History(tasks=1, seed=4, span_seconds=4000)
    return world


@pytest.mark.parametrize(
    ("load", "history_tasks", "seed"),
    [
        (lambda now: read_world(DEMO_WORLD, now), 400, 0),
        (lambda now: read_world(DEMO_WORLD, now), 3000, 11),
        (_recorded, 900, 4),
    ],
)
def test_a_world_installed_in_rows_is_the_world_installed_entry_by_entry(
    load: Callable[[datetime], World], history_tasks: int, seed: int
) -> None:
    now = MOMENTS[1]
    world = load(now)
    world.history = replace(world.history, seed=seed, span_seconds=5 * 3600)
    expected, made = Store(), Store()
    reference_install(expected, world, now, history_tasks)
    install(made, world, now, history_tasks=history_tasks)
    assert made.log_entries() == expected.log_entries()
    assert made.tasks() == expected.tasks()
    assert made.count_log() == expected.count_log()


def test_an_id_suffix_is_the_start_of_a_uuid4_of_the_bits() -> None:
    rng = Random(1)
    for _ in range(2000):
        bits = rng.getrandbits(128)
        assert task_suffix(bits) == "-" + str(uuid.UUID(int=bits, version=4))[:23]
