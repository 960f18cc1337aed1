"""The store's task log against a plain reading of the same SQLite file.

Counts, pages and statistics come from per-bucket counters and index seeks; here they are
compared with the answer computed the naive way, from every row of the log, after the writes
that can upset counters: entries with past times written by settle(), cancels, new tasks,
deletes, a reset, and a file reopened.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from random import Random

import pytest

from mockserver import logtable
from mockserver.clock import ControlledClock, fixed_clock
from mockserver.deployment import Deployment, NewTask
from mockserver.errors import CannotCancel
from mockserver.lifecycle import TaskObject
from mockserver.logtable import STATUSES
from mockserver.store import Store, from_us, to_us
from mockserver.tasklog import (
    AUTO_TASK_TYPES,
    PAGE_SIZE,
    LogEntry,
    LogFilter,
    LogStatus,
    Order,
    Visibility,
)
from mockserver.worlds.install import install_demo
from tests.conftest import DOC_TIME
from tests.mockserver.conftest import dc, user

FILTERS = [
    LogFilter(),
    LogFilter(status=LogStatus.FAILURE),
    LogFilter(status=LogStatus.PENDING, object_type="vm"),
    LogFilter(object_type="vm", object_name="WEB0"),
    LogFilter(object_type="node", object_name="_"),
    LogFilter(hide_auto=True),
    LogFilter(show_running=True),
    LogFilter(date_from=DOC_TIME.date()),
    LogFilter(date_to=DOC_TIME.date()),
    LogFilter(date_from=DOC_TIME.date() - timedelta(days=1), date_to=DOC_TIME.date()),
    LogFilter(date_from=date(1, 1, 1), date_to=date(9999, 12, 31), hide_auto=True),
    LogFilter(status=LogStatus.REVOKED, show_running=True),
]
VISIBILITIES = [
    Visibility(1, None, unbound_everywhere=True),  # a SuperAdmin in the default datacenter
    Visibility(1, None),
    Visibility(2, None),
    Visibility(1, 3),
    Visibility(1, 4),
    Visibility(2, 4),
]


class Naive:
    """The task log read whole from the database file, and filtered in Python."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def rows(self) -> list[tuple]:  # type: ignore[type-arg]
        """Every entry: id, time_us, dc_id, owner_id, task_type, status (its name),
        object_type, object_pk, task."""
        with sqlite3.connect(self.path) as db:
            rows = db.execute(
                "SELECT log.id, time_us, dc_id, owner_id, task_type, status, object_type, "
                "o.pk, task FROM log JOIN log_object o ON o.id = log.object"
            ).fetchall()
        return [(*r[:5], STATUSES[r[5]].value, *r[6:]) for r in rows]

    def last(self, vis: Visibility, size: int) -> list[int]:
        """The ids of the last entries written that ``vis``'s list holds."""
        found = [r[0] for r in self.rows() if r[2] == vis.dc_id and vis.owner_id in (None, r[3])]
        return sorted(found, reverse=True)[:size]

    def running(self, vis: Visibility, now_us: int) -> set[str]:
        """The tasks in the pending lists (show_running shows their entries)."""
        sql = (
            "SELECT id, owner_id FROM task WHERE listed AND dc_id = ? AND unlisted_us > ? "
            "AND created_us <= ?"
        )
        with sqlite3.connect(self.path) as db:
            found = db.execute(sql, (vis.dc_id, now_us, now_us)).fetchall()
        return {i for i, owner in found if vis.owner_id in (None, owner)}

    def named(self, object_type: str, text: str) -> set[str]:
        """The objects whose current name holds ``text`` (the object_name filter)."""
        with sqlite3.connect(self.path) as db:
            found = db.execute("SELECT type, pk, name FROM object").fetchall()
        return {
            pk for kind, pk, name in found if kind == object_type and text.lower() in name.lower()
        }

    def select(self, vis: Visibility, flt: LogFilter, now_us: int, *, since: int | None = None):  # type: ignore[no-untyped-def]
        running = self.running(vis, now_us)
        named = self.named(flt.object_type or "", flt.object_name or "")
        for row in self.rows():
            _id, time_us, dc_id, owner, task_type, status, object_type, object_pk, task = row
            seen = dc_id == vis.dc_id or (vis.unbound_everywhere and task_type >= 100)
            if not seen or (vis.owner_id is not None and owner != vis.owner_id):
                continue
            if since is not None and time_us < since:
                continue
            if flt.status is not None and status != flt.status.value:
                continue
            if flt.object_type is not None and object_type != flt.object_type:
                continue
            if flt.object_name and object_pk not in named:
                continue
            if flt.hide_auto and task_type in AUTO_TASK_TYPES:
                continue
            if flt.date_from is not None and time_us < to_us(flt.time_from()):  # type: ignore[arg-type]
                continue
            if flt.date_to is not None and time_us > to_us(flt.time_to()):  # type: ignore[arg-type]
                continue
            if flt.show_running and task not in running:
                continue
            yield row


def check_against_naive(store: Store, naive: Naive, now_us: int) -> None:
    now = from_us(now_us)
    for vis in VISIBILITIES:
        for flt in FILTERS:
            rows = sorted(naive.select(vis, flt, now_us), key=lambda r: (r[1], r[0]))
            assert store.log_count(vis, flt, now) == len(rows), (vis, flt)
            last = max(1, -(-len(rows) // PAGE_SIZE))
            for order, ordered in (
                (Order.NEWEST_FIRST, rows[::-1]),
                (Order.OLDEST_FIRST, rows),
            ):
                for number in sorted({1, 2, (last + 1) // 2, last, last + 1}):
                    page = store.log_page(vis, flt, now, number, order)
                    expected = ordered[(number - 1) * PAGE_SIZE : number * PAGE_SIZE]
                    assert [(to_us(e.time), e.task, e.status.value) for e in page] == [
                        (r[1], r[8], r[5]) for r in expected
                    ], (vis, flt, order, number)
        for seconds in (1, 59, 61, 3599, 3601, 86399, 86400, 86401, 10**7, -10):
            since = now_us - seconds * 1_000_000
            expected_stats = dict.fromkeys(LogStatus, 0)
            for row in naive.select(vis, LogFilter(), now_us, since=since):
                expected_stats[LogStatus(row[5])] += 1
            assert store.log_counts_since(vis, from_us(since)) == expected_stats, (vis, seconds)
        if not vis.unbound_everywhere:
            last = store.log_last(vis, 10)
            expected_last = naive.last(vis, 10)
            assert len(last) == len(expected_last), vis
            by_id = {r[0]: r for r in naive.rows()}
            assert [(to_us(e.time), e.task, e.status.value) for e in last] == [
                (by_id[i][1], by_id[i][8], by_id[i][5]) for i in expected_last
            ], vis
    assert store.count_log() == len(naive.rows())


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[Deployment, ControlledClock, Naive]]:
    path = tmp_path / "world.sqlite3"
    clock = fixed_clock(DOC_TIME)
    store = Store(path)
    install_demo(store, clock.now(), history=700, days=2)
    yield Deployment(store, clock, rng=Random(5)), clock, Naive(path)
    store.close()


def now_us(clock: ControlledClock) -> int:
    return to_us(clock.now())


def test_counts_pages_and_stats_of_the_demo_world_match_a_plain_reading(
    world: tuple[Deployment, ControlledClock, Naive],
) -> None:
    deployment, clock, naive = world
    check_against_naive(deployment.store, naive, now_us(clock))


def test_they_still_match_after_settle_writes_entries_in_the_past_cancels_and_new_tasks(
    world: tuple[Deployment, ControlledClock, Naive],
) -> None:
    deployment, clock, naive = world
    rng = Random(3)
    vm = TaskObject("vm", "web02.example.com", "web02.example.com", "web02")
    for _ in range(40):
        creator = user(deployment, rng.choice(["alice", "bob", "dcadmin", "admin"]))
        deployment.start_task(
            NewTask(
                creator=creator,
                owner_id=creator.id,
                dc_id=rng.choice([1, 2]),
                object=vm,
                msg="Start server",
                runs=rng.choice([None, 1.5, 30, 4000]),
            )
        )
    # Nobody asks for a while: the tasks that end meanwhile are logged later, at their end.
    clock.advance(45)
    admin, main = user(deployment, "admin"), dc(deployment, "main")
    for task_id in deployment.task_list(admin, main)[:6]:
        with suppress(CannotCancel):  # management tasks cannot be
            deployment.task_cancel(admin, main, task_id, force=True)
    clock.advance(7200)
    deployment.settle()
    check_against_naive(deployment.store, naive, now_us(clock))


def test_they_match_after_a_reset_and_in_a_file_opened_again(
    world: tuple[Deployment, ControlledClock, Naive], tmp_path: Path
) -> None:
    deployment, clock, naive = world
    deployment.store.clear()
    assert deployment.store.count_log() == 0
    install_demo(deployment.store, clock.now(), seed=9, history=300)
    check_against_naive(deployment.store, naive, now_us(clock))
    deployment.store.close()
    again = Store(naive.path)
    check_against_naive(again, naive, now_us(clock))
    again.close()


@pytest.mark.parametrize(
    "change",
    [
        "DROP TABLE log_count",  # written before the counters existed
        "UPDATE meta SET value = 'log_count levels 86400,3600,60' WHERE key = 'log_counts'",
        # the layout before the ten-second buckets: their level is missing
        "UPDATE meta SET value = 'log_count levels 86400,21600,3600,600,60 by object id; tally' "
        "WHERE key = 'log_counts'",
    ],
)
def test_a_log_counted_otherwise_or_not_at_all_is_counted_when_opened(
    world: tuple[Deployment, ControlledClock, Naive], change: str
) -> None:
    deployment, clock, naive = world
    deployment.store.close()
    with sqlite3.connect(naive.path) as db:
        db.execute(change)
        if change.startswith("UPDATE"):  # and the counters are off, as another layout's are
            db.execute("DELETE FROM log_count WHERE level = 2")
            db.execute("DELETE FROM log_count WHERE level = 6")
            db.execute("DELETE FROM log_tally WHERE level = 6")
    reopened = Store(naive.path)
    check_against_naive(reopened, naive, now_us(clock))
    reopened.close()


def test_a_bulk_write_drops_and_builds_the_indexes_and_counts_alike(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(logtable, "BULK_ROWS", 100)
    path = tmp_path / "bulk.sqlite3"
    store = Store(path)
    install_demo(store, DOC_TIME, history=700)
    with sqlite3.connect(path) as db:
        indexes = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
    assert set(logtable.LOG_INDEXES) <= indexes
    check_against_naive(store, Naive(path), to_us(DOC_TIME))
    store.close()


def compact(item: object) -> str:
    return json.dumps(item, separators=(",", ":"), ensure_ascii=False)


ODD_TEXTS = ['quote " and \\ back', "line\nbreak\ttab\x01\x1f", "é ✓ 😀 \u2028", "", "Add"]
ODD_TIMES = [
    datetime(1, 1, 1, tzinfo=UTC),
    datetime(1969, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
    datetime(1970, 1, 1, tzinfo=UTC),
    datetime(2026, 11, 2, 11, 0, 0, 1, tzinfo=UTC),
    datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
]


def test_entries_rendered_by_sqlite_are_the_json_python_renders(tmp_path: Path) -> None:
    store = Store(tmp_path / "odd.sqlite3")
    install_demo(store, DOC_TIME, history=300)
    store.add_log_entries(
        LogEntry(
            time=moment,
            task="3e3d1-8c2f4a17-5b3e-4d21-a9f0",
            task_type=1,
            status=LogStatus.SUCCESS,
            dc_id=1,
            user_id=3,
            username=text,
            owner_id=3,
            object_type="vm",
            object_pk=text,
            object_name=text,
            object_alias=text,
            msg=f"{word} {text}",
            detail=text,
        )
        for moment in ODD_TIMES
        for text in ODD_TEXTS
        for word in ("Create", "Rollback", "Remote", "Start", "Delete")
    )
    for vis in VISIBILITIES:
        assert store.log_last_json(vis, 10) == [
            compact(e.as_cached_item()) for e in store.log_last(vis, 10)
        ]
        for flt in FILTERS[:6]:
            for order in Order:
                for number in (1, 2, 5):
                    entries = store.log_page(vis, flt, DOC_TIME, number, order)
                    assert store.log_page_json(vis, flt, DOC_TIME, number, order) == [
                        compact(e.as_page_item()) for e in entries
                    ], (vis, flt, order, number)
    store.close()


def test_a_store_sees_another_connections_writes_and_drops_what_they_made_stale(
    tmp_path: Path,
) -> None:
    path = tmp_path / "shared.sqlite3"
    one = Store(path)
    install_demo(one, DOC_TIME, history=50)
    other = Store(path)
    vis = Visibility(1, None, unbound_everywhere=True)
    page = other.log_page_json(vis, LogFilter(), DOC_TIME, 1, Order.NEWEST_FIRST)
    writes = other.writes
    assert other.writes == writes  # nothing written meanwhile
    renamed = [replace(o, name=o.name.upper()) for o in one.objects()]
    one.add_objects(renamed)
    assert other.writes != writes
    again = other.log_page_json(vis, LogFilter(), DOC_TIME, 1, Order.NEWEST_FIRST)
    assert again != page and again == one.log_page_json(
        vis, LogFilter(), DOC_TIME, 1, Order.NEWEST_FIRST
    )
    assert [json.loads(item)["object_name"].isupper() for item in again].count(True) > 0
    one.clear()
    install_demo(one, DOC_TIME, seed=8, history=20)
    assert other.log_last_json(vis, 10) == one.log_last_json(vis, 10)
    assert other.count_log() == one.count_log()
    one.close()
    other.close()


def test_counts_stats_and_every_page_match_where_entries_crowd_a_few_minutes(
    tmp_path: Path,
) -> None:
    """Thousands of entries in three minutes, many on the very edges of seconds and of the
    counters' ten-second buckets: stats since any second (or a microsecond either side) and
    every page, whose first entries are sought inside minutes and inside ten seconds."""
    path = tmp_path / "crowded.sqlite3"
    store = Store(path)
    install_demo(store, DOC_TIME, history=0)
    rng = Random(11)
    start = to_us(DOC_TIME) - 4 * 60 * 1_000_000  # a whole minute, so buckets start on it
    moments = [start + s * 1_000_000 + d for s in range(0, 180, 3) for d in (-1, 0, 1)]
    moments += [start + rng.randrange(180 * 1_000_000) for _ in range(2000)]
    entries = []
    for i, moment in enumerate(sorted(moments)):
        task_type = rng.choice([1, 2, 101, 102])
        entries.append(
            LogEntry(
                from_us(moment),
                f"{i}e{task_type}-crowd",
                task_type,
                rng.choice(list(LogStatus)),
                rng.choice([1, 2]),
                3,
                "alice",
                rng.choice([3, 4]),
                rng.choice(["vm", "node"]),
                "web01.example.com",
                "web01.example.com",
                "web01",
                "Start server",
                "",
            )
        )
    store.add_log_entries(entries)
    naive = Naive(path)
    now = start + 4 * 60 * 1_000_000
    for vis in VISIBILITIES:
        for flt in (LogFilter(), LogFilter(status=LogStatus.SUCCESS, hide_auto=True)):
            rows = sorted(naive.select(vis, flt, now), key=lambda r: (r[1], r[0]))
            assert store.log_count(vis, flt, from_us(now)) == len(rows), (vis, flt)
            for order, ordered in ((Order.NEWEST_FIRST, rows[::-1]), (Order.OLDEST_FIRST, rows)):
                for number in range(1, len(rows) // PAGE_SIZE + 2):
                    page = store.log_page(vis, flt, from_us(now), number, order)
                    expected = ordered[(number - 1) * PAGE_SIZE : number * PAGE_SIZE]
                    assert [(to_us(e.time), e.task) for e in page] == [
                        (r[1], r[8]) for r in expected
                    ], (vis, flt, order, number)
        for second in range(-1, 182, 7):
            for d in (-1, 0, 1):
                since = start + second * 1_000_000 + d
                expected_stats = dict.fromkeys(LogStatus, 0)
                for row in naive.select(vis, LogFilter(), now, since=since):
                    expected_stats[LogStatus(row[5])] += 1
                found = store.log_counts_since(vis, from_us(since))
                assert found == expected_stats, (vis, second, d)
    store.close()
