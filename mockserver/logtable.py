"""The task log in the store's database: a compact layout, its indexes and counters, and the
JSON of each entry made once.

An entry's row holds only what the log is filtered and ordered by (time, datacenter, owner,
task type, status, object type and object) and its task; what it says (the user, the object
as logged, the message and the detail) is a *shape*, one row of ``log_shape`` shared by every
entry that says the same. A million entries of the demo world take about 150 bytes each,
indexes included, and a few thousand shapes.

- **Reading in time order**: two indexes by time (a datacenter's entries, and an owner's in a
  datacenter) also hold the filtered columns, so pages are filtered and partial buckets counted
  from the index alone; DC-unbound entries have a partial index of their own. Counts and the
  first entry of a page come from the per-bucket counters (:mod:`mockserver.logcounts`).
- **Write order**: the last-10 views read the last entries *written* to a datacenter's list and
  to an owner's; ``log_recent`` keeps the last :data:`RECENT` ids of each list, as real
  deployments keep those lists in their cache.
- **An entry's JSON** never changes once written but for the object's current name, which the
  paged view shows: both views' JSON is made once per entry and kept in this process
  (:class:`Rendered`), and the page view's is made again when objects change.
"""

from __future__ import annotations

import json
import sqlite3
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from itertools import chain
from typing import Any

from mockserver.logcounts import FINEST, TALLY_COLUMNS, LogCounts
from mockserver.tasklog import FLAG_WORDS, LAST_SIZE, Flag, LogEntry, LogStatus

#: Statuses as the log stores them.
STATUS_CODES = {
    LogStatus.PENDING: 0,
    LogStatus.SUCCESS: 1,
    LogStatus.FAILURE: 2,
    LogStatus.REVOKED: 3,
}
STATUSES = {code: status for status, code in STATUS_CODES.items()}
#: How many ids of each write-order list are kept (the last-10 views read LAST_SIZE of them).
RECENT = LAST_SIZE
#: The list of a datacenter's staff in ``log_recent`` (an owner's list is its user id).
STAFF_LIST = -1
#: How many entries' JSON one process keeps, per view.
RENDERED_ENTRIES = 200_000

SCHEMA = """
CREATE TABLE IF NOT EXISTS log_object (
    id INTEGER PRIMARY KEY, type TEXT NOT NULL, pk TEXT NOT NULL, UNIQUE (type, pk)
);
CREATE TABLE IF NOT EXISTS log_shape (
    id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL, username TEXT NOT NULL,
    object INTEGER NOT NULL, object_name TEXT NOT NULL, object_alias TEXT NOT NULL,
    msg TEXT NOT NULL, detail TEXT NOT NULL,
    UNIQUE (user_id, username, object, object_name, object_alias, msg, detail)
);
CREATE TABLE IF NOT EXISTS log (
    id INTEGER PRIMARY KEY, time_us INTEGER NOT NULL, dc_id INTEGER NOT NULL,
    owner_id INTEGER NOT NULL, task_type INTEGER NOT NULL,
    status INTEGER NOT NULL,           -- STATUS_CODES
    object_type TEXT NOT NULL, object INTEGER NOT NULL, shape INTEGER NOT NULL,
    task TEXT NOT NULL, task_key INTEGER NOT NULL  -- task_key(task)
);
CREATE TABLE IF NOT EXISTS log_recent (
    dc_id INTEGER NOT NULL, list INTEGER NOT NULL, id INTEGER NOT NULL,
    PRIMARY KEY (dc_id, list, id)
) WITHOUT ROWID;
"""
# The id after the time: pages are read in (time, id) order, with no sort. The owner is among
# the columns: a plain user's view is read through the same index (an index per owner would
# cost as much to build as this one, and the build of a million entries has five seconds).
_FILTERED = "time_us, id, owner_id, status, task_type, object_type, object"
#: Each a way to read a visible part of the log in time order (and the entries of a task).
LOG_INDEXES = {
    "log_dc_time": f"log (dc_id, {_FILTERED})",
    # DC-unbound entries (task_type >= 100), which SuperAdmins see from every datacenter.
    "log_unbound_dc_time": f"log (dc_id, {_FILTERED}) WHERE task_type >= 100",
    # A task's entries (show_running), by a number made of its id: an index of integers.
    "log_task": "log (task_key)",
}
#: A batch of log entries this large is written with the indexes dropped and built after.
BULK_ROWS = 50_000
#: A row of the log: what :meth:`LogTable.row` makes of an entry.
COLUMNS = "time_us, dc_id, owner_id, task_type, status, object_type, object, shape, task, task_key"
#: A finished task as :meth:`LogTable.load_tasks` takes it: what its two entries share, and
#: the status and shape of each (a start is PENDING).
TASK_COLUMNS = (
    "created_us, ended_us, dc_id, owner_id, task_type, object_type, object, start_shape, "
    "final_status, final_shape, task, task_key"
)
_INSERT = f"INSERT INTO log ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
#: The tally's key (:data:`mockserver.logcounts.TALLY_COLUMNS`) from the log's columns.
_TALLIED = ("dc_id", "owner_id", "task_type >= 100", "status")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def task_key(task_id: str) -> int:
    """The number the log finds a task's entries by (24 bits of its id's CRC-32)."""
    return zlib.crc32(task_id.encode("utf-8", "surrogatepass")) & 0xFFFFFF


def dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def flag_of(msg: str) -> int:
    first = msg.split(" ", 1)[0]
    for flag, words in FLAG_WORDS.items():
        if first in words:
            return int(flag)
    return int(Flag.OTHER)


class Rendered:
    """The JSON of entries as each view shows them, made once: by id, and the parts shared by
    every entry of a shape."""

    def __init__(self) -> None:
        self.page: dict[int, str] = {}
        self.cached: dict[int, str] = {}
        self.page_tails: dict[int, str] = {}
        self.cached_tails: dict[int, str] = {}
        self.seconds: dict[int, str] = {}

    def clear(self, *, names_only: bool = False) -> None:
        self.page.clear()
        self.page_tails.clear()
        if not names_only:
            self.cached.clear()
            self.cached_tails.clear()

    def time(self, time_us: int, zone: str) -> str:
        """``time_us`` as ``datetime.isoformat()`` writes it, with ``zone``."""
        second, fraction = divmod(time_us, 1_000_000)
        text = self.seconds.get(second)
        if text is None:
            if len(self.seconds) > 100_000:
                self.seconds.clear()
            text = self.seconds[second] = (_EPOCH + timedelta(seconds=second)).isoformat()[:19]
        return f"{text}.{fraction:06d}{zone}" if fraction else text + zone


class LogTable:
    """The task log's tables in ``db`` (the store holds the lock and the transactions)."""

    def __init__(self, db: sqlite3.Connection, lock: Any) -> None:
        self._db = db
        self._lock = lock
        db.executescript(SCHEMA)
        self.create_indexes()
        self.counts = LogCounts(db)
        self.tally = LogCounts(db, "log_tally", TALLY_COLUMNS)
        self.rendered = Rendered()
        self._objects: dict[tuple[str, str], int] = {}
        self._shapes: dict[tuple[Any, ...], int] = {}
        self._shape_rows: dict[int, tuple[Any, ...]] = {}
        self._current: dict[tuple[str, str], tuple[str, str]] | None = None

    # -- what other connections may have changed ----------------------------------------------

    def forget(self, *, names_only: bool = False) -> None:
        """Drop what this process keeps of the log: after a reset, or (``names_only``) when
        objects were renamed."""
        self._current = None
        self.rendered.clear(names_only=names_only)
        if not names_only:
            self._objects.clear()
            self._shapes.clear()
            self._shape_rows.clear()

    def clear(self) -> None:
        for table in ("log", "log_shape", "log_object", "log_recent"):
            self._db.execute(f"DELETE FROM {table}")
        self.counts.clear()
        self.tally.clear()
        self.forget()

    def create_indexes(self) -> None:
        for name, on in LOG_INDEXES.items():
            self._db.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {on}")

    def drop_indexes(self) -> None:
        for name in LOG_INDEXES:
            self._db.execute(f"DROP INDEX IF EXISTS {name}")

    # -- writing ------------------------------------------------------------------------------

    def object_id(self, object_type: str, pk: str) -> int:
        key = (object_type, pk)
        found = self._objects.get(key)
        if found is None:
            row = self._db.execute(
                "SELECT id FROM log_object WHERE type = ? AND pk = ?", key
            ).fetchone()
            if row is None:
                row = self._db.execute(
                    "INSERT INTO log_object (type, pk) VALUES (?, ?) RETURNING id", key
                ).fetchone()
            found = self._objects[key] = int(row[0])
        return found

    def shape_id(
        self,
        user_id: int,
        username: str,
        obj: int,
        object_name: str,
        object_alias: str,
        msg: str,
        detail: str,
    ) -> int:
        key = (user_id, username, obj, object_name, object_alias, msg, detail)
        found = self._shapes.get(key)
        if found is None:
            row = self._db.execute(
                "SELECT id FROM log_shape WHERE user_id = ? AND username = ? AND object = ? "
                "AND object_name = ? AND object_alias = ? AND msg = ? AND detail = ?",
                key,
            ).fetchone()
            if row is None:
                row = self._db.execute(
                    "INSERT INTO log_shape (user_id, username, object, object_name, "
                    "object_alias, msg, detail) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
                    key,
                ).fetchone()
            found = self._shapes[key] = int(row[0])
        return found

    def shape_for(
        self,
        user_id: int,
        username: str,
        object_type: str,
        object_pk: str,
        object_name: str,
        object_alias: str,
        msg: str,
        detail: str,
    ) -> tuple[int, int]:
        """The ids of an entry's object and shape, made if new."""
        obj = self.object_id(object_type, object_pk)
        return obj, self.shape_id(user_id, username, obj, object_name, object_alias, msg, detail)

    def row(self, e: LogEntry) -> tuple[Any, ...]:
        """The row of an entry (the columns of :data:`COLUMNS`)."""
        obj, shape = self.shape_for(
            e.user_id,
            e.username,
            e.object_type,
            e.object_pk,
            e.object_name,
            e.object_alias,
            e.msg,
            e.detail,
        )
        return (
            _to_us(e.time),
            e.dc_id,
            e.owner_id,
            e.task_type,
            STATUS_CODES[e.status],
            e.object_type,
            obj,
            shape,
            e.task,
            task_key(e.task),
        )

    def add(self, entries: Iterable[LogEntry]) -> None:
        """Write entries in this order (their ids follow it), counted and listed."""
        rows = [self.row(e) for e in entries]
        if not rows:
            return
        bulk = len(rows) >= BULK_ROWS
        if bulk:
            self.drop_indexes()
        first = self._next_id()
        self._db.executemany(_INSERT, rows)
        if bulk:
            self.create_indexes()
        self._count(rows)
        self._list_recent(
            [(first + i, r[1], r[2]) for i, r in enumerate(rows)] if len(rows) < BULK_ROWS else None
        )

    def load(self, rows: Iterable[tuple[Any, ...]]) -> None:
        """Write many rows (:data:`COLUMNS`) into an empty log in this order, then index, count
        and list them.

        The indexes are built once at the end, and the counters are summed here by their
        finest bucket, the coarser levels in SQL from those. (A thread writing each batch
        while the next is made was slower: the two threads take turns at Python's lock.)"""
        self._empty_for_load()
        finest: Counter[tuple[Any, ...]] = Counter()
        self._db.executemany(_INSERT, _counted(rows, finest))
        self._index_and_count(_rows_of(finest))

    def load_tasks(
        self,
        tasks: Iterable[tuple[Any, ...]],
        counted: Iterable[tuple[Any, ...]],
        *,
        among: Iterable[tuple[Any, ...]] = (),
        after: Iterable[tuple[Any, ...]] = (),
    ) -> None:
        """Write the two entries of each of many finished tasks into an empty log, in time
        order (the entries of tasks given earlier first at the same moment), then index, count
        and list them.

        :param tasks: rows of :data:`TASK_COLUMNS`, one a task.
        :param counted: how many of the tasks' entries fall in each of the counters' finest
            buckets (:data:`mockserver.logcounts.FINEST`), by the counters' key, as rows
            ``(bucket, dc_id, owner_id, task_type, status, object_type, object, n)`` (read
            once the entries are written).
        :param among: rows of :data:`COLUMNS` in time order, put among the tasks' entries,
            each after theirs of the same moment.
        :param after: rows of :data:`COLUMNS` written after all the others, in this order.

        SQLite sorts the entries: a task is one row handed over instead of two entries, and
        nothing is sorted in Python."""
        self._empty_for_load()
        finest: Counter[tuple[Any, ...]] = Counter()
        self._db.execute(f"CREATE TEMP TABLE load_task ({TASK_COLUMNS})")
        self._db.execute(f"CREATE TEMP TABLE load_among ({COLUMNS})")
        try:
            marks = ", ".join("?" * len(TASK_COLUMNS.split(",")))
            self._db.executemany(f"INSERT INTO load_task VALUES ({marks})", tasks)
            self._db.executemany(
                _INSERT.replace("INTO log", "INTO load_among"), _counted(among, finest)
            )
            # rowid orders a task's entries (start, then end) and keeps ties in given order;
            # the rows among them come after every task entry of the same moment.
            self._db.execute(
                f"INSERT INTO log ({COLUMNS}) SELECT {COLUMNS} FROM ("
                "SELECT created_us AS time_us, 2 * rowid AS o, dc_id, owner_id, task_type, "
                "0 AS status, object_type, object, start_shape AS shape, task, task_key "
                "FROM load_task UNION ALL "
                "SELECT ended_us, 2 * rowid + 1, dc_id, owner_id, task_type, final_status, "
                "object_type, object, final_shape, task, task_key FROM load_task UNION ALL "
                f"SELECT time_us, {1 << 62} + rowid, {COLUMNS.split(', ', 1)[1]} "
                "FROM load_among) ORDER BY time_us, o"
            )
        finally:
            self._db.execute("DROP TABLE temp.load_task")
            self._db.execute("DROP TABLE temp.load_among")
        self._db.executemany(_INSERT, _counted(after, finest))
        self._index_and_count(chain(counted, _rows_of(finest)))

    def _empty_for_load(self) -> None:
        if self._db.execute("SELECT EXISTS (SELECT 1 FROM log)").fetchone()[0]:
            raise ValueError("rows are loaded into an empty log only")
        self.drop_indexes()

    def _index_and_count(self, finest: Iterable[tuple[Any, ...]]) -> None:
        """Build the indexes, count the ``finest`` buckets (rows of the bucket, the counters'
        key and n) and list the recent entries. The tally's are summed from the counters'."""
        self.create_indexes()
        self.counts.add_finest(finest)
        self.tally.add_finest_of(self.counts, _TALLIED)
        self.counts.derive_levels()
        self.tally.derive_levels()
        self._list_recent(None)

    def _count(self, rows: Sequence[tuple[Any, ...]]) -> None:
        """Count rows (``time_us, dc_id, owner_id, task_type, status, object_type, object``
        first) in the counters and the tally."""
        self.counts.add((r[0], (r[1], r[2], r[3], r[4], r[5], r[6])) for r in rows)
        self.tally.add((r[0], (r[1], r[2], int(r[3] >= 100), r[4])) for r in rows)

    def _next_id(self) -> int:
        row = self._db.execute("SELECT MAX(id) FROM log").fetchone()
        return (row[0] or 0) + 1

    def _list_recent(self, written: list[tuple[int, int, int]] | None) -> None:
        """Add the ids of ``written`` entries (id, datacenter, owner) to the write-order lists,
        keeping the last :data:`RECENT` of each; ``None``: build the lists from the log."""
        if written is None:
            self._db.execute("DELETE FROM log_recent")
            pairs = self._db.execute(
                "SELECT DISTINCT dc_id, owner_id FROM log_count WHERE level = 0"
            )
            lists: set[tuple[int, int, str, tuple[int, ...]]] = set()
            for dc_id, owner_id in pairs.fetchall():
                lists.add((dc_id, STAFF_LIST, "dc_id = ?", (dc_id,)))
                lists.add((dc_id, owner_id, "dc_id = ? AND owner_id = ?", (dc_id, owner_id)))
            for dc_id, name, where, params in lists:
                self._db.execute(
                    f"INSERT INTO log_recent SELECT ?, ?, id FROM log NOT INDEXED "
                    f"WHERE {where} ORDER BY id DESC LIMIT {RECENT}",
                    (dc_id, name, *params),
                )
            return
        touched = set()
        for entry_id, dc_id, owner_id in written:
            for name in (STAFF_LIST, owner_id):
                self._db.execute("INSERT INTO log_recent VALUES (?, ?, ?)", (dc_id, name, entry_id))
                touched.add((dc_id, name))
        for dc_id, name in touched:
            self._db.execute(
                "DELETE FROM log_recent WHERE dc_id = ? AND list = ? AND id < (SELECT MIN(id) "
                f"FROM (SELECT id FROM log_recent WHERE dc_id = ? AND list = ? "
                f"ORDER BY id DESC LIMIT {RECENT}))",
                (dc_id, name, dc_id, name),
            )

    def count_existing(self) -> None:
        """Count the log again (a file counted another way: an older layout of the counters)
        and list its recent entries; in SQL, as a log of millions would take long in Python."""
        self.counts.clear()
        self.tally.clear()
        self.counts.count_log(self.counts.columns)
        self.tally.count_log(_TALLIED)
        self._list_recent(None)

    # -- reading -------------------------------------------------------------------------------

    def recent(self, dc_id: int, owner_id: int | None, size: int) -> list[int]:
        """The ids of the last ``size`` entries written to a list, the newest first."""
        if size > RECENT:
            raise ValueError(f"the last {RECENT} entries of each list are kept, not {size}")
        rows = self._db.execute(
            "SELECT id FROM log_recent WHERE dc_id = ? AND list = ? ORDER BY id DESC LIMIT ?",
            (dc_id, STAFF_LIST if owner_id is None else owner_id, size),
        ).fetchall()
        return [row[0] for row in rows]

    def entries(self, ids: Sequence[int], *, current_names: bool = False) -> list[LogEntry]:
        """The entries with these ids, in this order (the objects under their current names if
        asked: the paged view shows them so)."""
        rows = self._rows(ids)
        found = []
        for entry_id in ids:
            time_us, dc_id, owner_id, task_type, status, object_type, _obj, shape, task, _k = rows[
                entry_id
            ]
            user_id, username, pk, name, alias, msg, detail = self._shape(shape)
            if current_names:
                name, alias = self._current_names().get((object_type, pk), (name, alias))
            found.append(
                LogEntry(
                    _from_us(time_us),
                    task,
                    task_type,
                    STATUSES[status],
                    dc_id,
                    user_id,
                    username,
                    owner_id,
                    object_type,
                    pk,
                    name,
                    alias,
                    msg,
                    detail,
                )
            )
        return found

    def every_entry(self) -> list[LogEntry]:
        ids = [row[0] for row in self._db.execute("SELECT id FROM log ORDER BY id").fetchall()]
        return self.entries(ids)

    def page_json(self, ids: Sequence[int]) -> list[str]:
        """:meth:`LogEntry.as_page_item` of each entry, as JSON."""
        return self._json(ids, self.rendered.page, self._page_json)

    def cached_json(self, ids: Sequence[int]) -> list[str]:
        """:meth:`LogEntry.as_cached_item` of each entry, as JSON."""
        return self._json(ids, self.rendered.cached, self._cached_json)

    def _json(
        self,
        ids: Sequence[int],
        kept: dict[int, str],
        render: Callable[[int, tuple[Any, ...]], str],
    ) -> list[str]:
        missing = [entry_id for entry_id in ids if entry_id not in kept]
        if missing:
            if len(kept) + len(missing) > RENDERED_ENTRIES:
                kept.clear()
                missing = list(ids)
            for entry_id, row in self._rows(missing).items():
                kept[entry_id] = render(entry_id, row)
        return [kept[entry_id] for entry_id in ids]

    def _page_json(self, _id: int, row: tuple[Any, ...]) -> str:
        time_us, _dc, _owner, _type, status, object_type, _obj, shape, task, _key = row
        tail = self.rendered.page_tails.get(shape)
        if tail is None:
            _user, username, pk, name, alias, msg, detail = self._shape(shape)
            name, alias = self._current_names().get((object_type, pk), (name, alias))
            tail = self.rendered.page_tails[shape] = (
                f'"username":{dump(username)},"msg":{dump(msg)},"detail":{dump(detail)},'
                f'"object_name":{dump(name)},"object_alias":{dump(alias)},'
                f'"object_type":{dump(object_type)},"flag":{flag_of(msg)}}}'
            )
        return (
            f'{{"time":"{self.rendered.time(time_us, "Z")}","task":{dump(task)},'
            f'"status":"{STATUSES[status]}",{tail}'
        )

    def _cached_json(self, _id: int, row: tuple[Any, ...]) -> str:
        time_us, _dc, _owner, task_type, status, object_type, _obj, shape, task, _key = row
        tail = self.rendered.cached_tails.get(shape)
        if tail is None:
            _user, username, _pk, name, alias, msg, detail = self._shape(shape)
            tail = self.rendered.cached_tails[shape] = (
                f'"flag":{flag_of(msg)},"username":{dump(username)},'
                f'"object_type":{dump(object_type)},"object_name":{dump(name)},'
                f'"object_alias":{dump(alias)},"msg":{dump(msg)},"detail":{dump(detail)}}}'
            )
        return (
            f'{{"time":"{self.rendered.time(time_us, "+00:00")}","task":{dump(task)},'
            f'"status":"{STATUSES[status]}","task_type":{task_type},{tail}'
        )

    def _rows(self, ids: Sequence[int]) -> dict[int, tuple[Any, ...]]:
        found: dict[int, tuple[Any, ...]] = {}
        for start in range(0, len(ids), 500):
            chunk = list(ids[start : start + 500])
            marks = ", ".join("?" * len(chunk))
            for row in self._db.execute(
                f"SELECT id, {COLUMNS} FROM log WHERE id IN ({marks})", chunk
            ).fetchall():
                found[row[0]] = row[1:]
        return found

    def _shape(self, shape: int) -> tuple[Any, ...]:
        """user_id, username, object pk, logged name and alias, msg, detail."""
        found = self._shape_rows.get(shape)
        if found is None:
            row = self._db.execute(
                "SELECT s.user_id, s.username, o.pk, s.object_name, s.object_alias, s.msg, "
                "s.detail FROM log_shape s JOIN log_object o ON o.id = s.object WHERE s.id = ?",
                (shape,),
            ).fetchone()
            found = self._shape_rows[shape] = tuple(row)
        return found

    def _current_names(self) -> dict[tuple[str, str], tuple[str, str]]:
        if self._current is None:
            self._current = {
                (kind, pk): (name, alias)
                for kind, pk, name, alias in self._db.execute(
                    "SELECT type, pk, name, alias FROM object"
                ).fetchall()
            }
        return self._current


def _counted(
    rows: Iterable[tuple[Any, ...]], finest: Counter[tuple[Any, ...]]
) -> Iterator[tuple[Any, ...]]:
    """``rows`` (:data:`COLUMNS`), each counted in ``finest`` by the counters' key (of
    :data:`FINEST` buckets) as it goes."""
    for row in rows:
        finest[(row[0] // FINEST, row[1], row[2], row[3], row[4], row[5], row[6])] += 1
        yield row


def _rows_of(finest: Counter[tuple[Any, ...]]) -> Iterator[tuple[Any, ...]]:
    """``(bucket, *key, n)`` rows of a count by finest bucket and key."""
    return ((*key, n) for key, n in finest.items())


def _to_us(moment: datetime) -> int:
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _from_us(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=us)
