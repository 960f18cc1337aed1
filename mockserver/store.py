"""Where the reference server keeps its state: one SQLite database.

Datacenters, users, login tokens, tasks and the task log. Times are stored as integer
microseconds since the epoch, so they come back exactly as they went in. Every query the API
path runs is backed by an index, and none of them reads a number of rows that grows with the
log: counts and the first entry of a page come from per-bucket counters
(:mod:`mockserver.logcounts`), and a page is read from that entry on, through an index in time
order. ``bench/`` measures them up to a million log entries.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from mockserver.accounts import Dc, Token, User
from mockserver.lifecycle import Task, due_at
from mockserver.logcounts import EARLIEST, LATEST, LAYOUT, LogCounts
from mockserver.tasklog import (
    AUTO_TASK_TYPES,
    FLAG_WORDS,
    PAGE_SIZE,
    LogEntry,
    LogFilter,
    LogStatus,
    Order,
    Visibility,
)
from mockserver.worlds.document import parse_time, task_from_doc, task_to_doc
from mockserver.worlds.model import WorldObject

_NEVER = 2**62  # "never": a task that stays listed, an event that never comes
#: The layout of the tables; a file written with another one is refused, not misread.
SCHEMA_VERSION = "2"

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS dc (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, is_default INTEGER NOT NULL,
    public INTEGER NOT NULL, owner_id INTEGER, alias TEXT NOT NULL, "desc" TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS user (
    id INTEGER PRIMARY KEY, username TEXT NOT NULL UNIQUE, password TEXT,
    api_key TEXT UNIQUE, current_dc INTEGER NOT NULL, dcs TEXT NOT NULL, admin_dcs TEXT NOT NULL,
    is_staff INTEGER NOT NULL, api_access INTEGER NOT NULL, is_active INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS object (
    type TEXT NOT NULL, pk TEXT NOT NULL, name TEXT NOT NULL, alias TEXT NOT NULL,
    owner_id INTEGER, dc_id INTEGER, PRIMARY KEY (type, pk)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS token (
    key TEXT PRIMARY KEY, user_id INTEGER NOT NULL UNIQUE, created_us INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS task (
    id TEXT PRIMARY KEY, dc_id INTEGER NOT NULL, owner_id INTEGER NOT NULL,
    created_us INTEGER NOT NULL,
    listed INTEGER NOT NULL,
    unlisted_us INTEGER NOT NULL,      -- when it leaves the pending lists; _NEVER if never
    queue TEXT NOT NULL,
    due_us INTEGER NOT NULL,           -- when settling must next look at it; _NEVER if never
    body TEXT NOT NULL                 -- the rest, as JSON (mockserver.taskjson)
);
CREATE INDEX IF NOT EXISTS task_listed ON task (dc_id, unlisted_us, created_us) WHERE listed;
CREATE INDEX IF NOT EXISTS task_due ON task (queue, due_us);
CREATE TABLE IF NOT EXISTS job (
    id INTEGER PRIMARY KEY, task TEXT NOT NULL, queued_us INTEGER NOT NULL, detail TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS log (
    id INTEGER PRIMARY KEY, time_us INTEGER NOT NULL, dc_id INTEGER NOT NULL,
    task TEXT NOT NULL, task_type INTEGER NOT NULL, status TEXT NOT NULL,
    user_id INTEGER NOT NULL, username TEXT NOT NULL, owner_id INTEGER NOT NULL,
    object_type TEXT NOT NULL, object_pk TEXT NOT NULL, object_name TEXT NOT NULL,
    object_alias TEXT NOT NULL, msg TEXT NOT NULL, detail TEXT NOT NULL
);
"""
_FILTERED = "status, task_type, object_type"
#: The task log's indexes, each a way to read a visible part of the log in time order.
#: The three by time also hold the columns filters and statistics read, so that the entries of
#: a partial minute are counted and filtered from the index alone.
LOG_INDEXES = {
    # The last-10 views, in the order entries were written (the rowid order within each).
    "log_dc_written": "log (dc_id)",
    "log_dc_owner_written": "log (dc_id, owner_id)",
    "log_dc_time": f"log (dc_id, time_us, {_FILTERED})",
    "log_dc_owner_time": f"log (dc_id, owner_id, time_us, {_FILTERED})",
    "log_dc_status_time": "log (dc_id, status, time_us)",
    # DC-unbound entries (task_type >= 100), which SuperAdmins see from every datacenter.
    "log_unbound_dc_time": f"log (dc_id, time_us, {_FILTERED}) WHERE task_type >= 100",
    "log_task": "log (task)",
}
#: A batch of log entries this large is written with the indexes dropped and built after.
BULK_ROWS = 50_000


def _time_sql(zone: str) -> str:
    """``time_us`` as ``datetime.isoformat()`` writes it (no fraction when it is 0), in UTC."""
    fraction = "((time_us % 1000000) + 1000000) % 1000000"  # SQLite's % truncates to zero
    return (
        f"strftime('%Y-%m-%dT%H:%M:%S', (time_us - {fraction}) / 1000000, 'unixepoch') "
        f"|| CASE WHEN {fraction} THEN printf('.%06d', {fraction}) ELSE '' END || '{zone}'"
    )


_FLAG_SQL = (
    "CASE substr(msg, 1, instr(msg || ' ', ' ') - 1) "
    + " ".join(f"WHEN '{w}' THEN {int(flag)}" for flag, words in FLAG_WORDS.items() for w in words)
    + " ELSE 0 END"
)
#: :meth:`LogEntry.as_page_item` rendered by SQLite, so a page of 100 entries is not built
#: in Python; tests/mockserver/test_store.py checks the two agree.
#: The object's current name and alias, or the logged ones if it is gone: the paged view shows
#: objects as they are now (a renamed server under its new name).
CURRENT_NAME_SQL = (
    "COALESCE((SELECT name FROM object WHERE type = log.object_type AND pk = log.object_pk), "
    "object_name)"
)
CURRENT_ALIAS_SQL = (
    "COALESCE((SELECT alias FROM object WHERE type = log.object_type AND pk = log.object_pk), "
    "object_alias)"
)
PAGE_ITEM_SQL = (
    f"json_object('time', {_time_sql('Z')}, 'task', task, 'status', status, "
    f"'username', username, 'msg', msg, 'detail', detail, 'object_name', {CURRENT_NAME_SQL}, "
    f"'object_alias', {CURRENT_ALIAS_SQL}, 'object_type', object_type, 'flag', {_FLAG_SQL})"
)
#: :meth:`LogEntry.as_cached_item` rendered by SQLite.
CACHED_ITEM_SQL = (
    f"json_object('time', {_time_sql('+00:00')}, 'task', task, 'status', status, "
    f"'task_type', task_type, 'flag', {_FLAG_SQL}, 'username', username, "
    "'object_type', object_type, 'object_name', object_name, 'object_alias', object_alias, "
    "'msg', msg, 'detail', detail)"
)


def to_us(moment: datetime) -> int:
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_us(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=us)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class StoreError(Exception):
    """A database file the reference server cannot use; the message says what to do."""


class Store:
    """The state of one simulated deployment in a SQLite database.

    :param path: a database file, or ``":memory:"``.
    """

    def __init__(self, path: str | Path = ":memory:") -> None:
        self.path = str(path)
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute(
            "PRAGMA journal_mode=WAL" if self.path != ":memory:" else "PRAGMA journal_mode=MEMORY"
        )
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._lock = threading.RLock()
        self._depth = 0
        #: Counts writes to tasks and the log, so that readers can tell nothing changed.
        self.writes = 0
        self._dc_ids: list[int] | None = None
        self._check_version()
        self._db.executescript(SCHEMA)
        self._create_log_indexes()
        self._counts = LogCounts(self._db)
        uncounted = self._db.execute(
            "SELECT EXISTS (SELECT 1 FROM log) AND NOT EXISTS (SELECT 1 FROM log_count)"
        ).fetchone()[0]
        if uncounted or self.get_meta("log_counts") not in (None, LAYOUT):
            self._count_existing_log()  # a file from before the counters, or counted otherwise
        self.set_meta("log_counts", LAYOUT)
        self.set_meta("schema", SCHEMA_VERSION)

    def _check_version(self) -> None:
        """Refuse a file another layout of the tables wrote: it would be misread."""
        tables = {row[0] for row in self._db.execute("SELECT name FROM sqlite_master")}
        if "meta" not in tables:
            return
        found = self._db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
        if found is None and "task" not in tables:
            return
        if found is None or found[0] != SCHEMA_VERSION:
            raise StoreError(
                f"{self.path!r} was written by another version of the reference server "
                f"(table layout {found[0] if found else 1}, this one reads {SCHEMA_VERSION}); "
                "start with another --db file, or delete this one"
            )

    def __repr__(self) -> str:
        return f"Store({self.path!r})"

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Group writes: all of them land, or none. Nested uses join the outer one."""
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            self._db.execute("BEGIN")
            self._depth = 1
            try:
                yield
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            else:
                self._db.execute("COMMIT")
            finally:
                self._depth = 0

    def _all(self, sql: str, params: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._db.execute(sql, tuple(params)).fetchall()

    def _run(self, sql: str, params: Iterable[Any] = ()) -> None:
        with self._lock:
            self._db.execute(sql, tuple(params))

    def clear(self) -> None:
        """Forget everything."""
        with self.transaction():
            for table in ("meta", "dc", "user", "object", "token", "task", "job", "log"):
                self._db.execute(f"DELETE FROM {table}")
            self._counts.clear()
            self._dc_ids = None
            self.writes += 1
            self.set_meta("log_counts", LAYOUT)
            self.set_meta("schema", SCHEMA_VERSION)

    # -- meta -----------------------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        rows = self._all("SELECT value FROM meta WHERE key = ?", (key,))
        return rows[0][0] if rows else None

    def set_meta(self, key: str, value: str) -> None:
        self._run("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    # -- datacenters and users ------------------------------------------------------------

    def add_dc(self, dc: Dc) -> None:
        self._dc_ids = None
        self._run(
            "INSERT INTO dc VALUES (?, ?, ?, ?, ?, ?, ?)",
            (dc.id, dc.name, int(dc.is_default), int(dc.public), dc.owner_id, dc.alias, dc.desc),
        )

    def dcs(self) -> list[Dc]:
        rows = self._all(
            'SELECT id, name, is_default, public, owner_id, alias, "desc" FROM dc ORDER BY id'
        )
        return [
            Dc(id, name, bool(default), bool(public), owner, alias, desc)
            for id, name, default, public, owner, alias, desc in rows
        ]

    def add_user(self, user: User) -> None:
        self._run(
            "INSERT INTO user VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                user.id,
                user.username,
                user.password,
                user.api_key,
                user.current_dc,
                json.dumps(sorted(user.dcs)),
                json.dumps(sorted(user.admin_dcs)),
                int(user.is_staff),
                int(user.api_access),
                int(user.is_active),
            ),
        )

    def users(self) -> list[User]:
        rows = self._all("SELECT * FROM user ORDER BY id")
        return [
            User(
                id=row[0],
                username=row[1],
                password=row[2],
                api_key=row[3],
                current_dc=row[4],
                dcs=frozenset(json.loads(row[5])),
                admin_dcs=frozenset(json.loads(row[6])),
                is_staff=bool(row[7]),
                api_access=bool(row[8]),
                is_active=bool(row[9]),
            )
            for row in rows
        ]

    # -- objects --------------------------------------------------------------------------

    def add_objects(self, objects: Iterable[WorldObject]) -> None:
        with self.transaction():
            self.writes += 1
            self._db.executemany(
                "INSERT OR REPLACE INTO object VALUES (?, ?, ?, ?, ?, ?)",
                [(o.type, o.pk, o.name, o.alias, o.owner_id, o.dc_id) for o in objects],
            )

    def objects(self) -> list[WorldObject]:
        rows = self._all("SELECT type, pk, name, alias, owner_id, dc_id FROM object")
        return [WorldObject(*row) for row in rows]

    # -- tokens ---------------------------------------------------------------------------

    def save_token(self, token: Token) -> None:
        """Store ``token`` as its user's only token (a new login replaces the old one)."""
        with self.transaction():
            self._db.execute("DELETE FROM token WHERE user_id = ?", (token.user_id,))
            self._db.execute(
                "INSERT INTO token VALUES (?, ?, ?)",
                (token.key, token.user_id, to_us(token.created_at)),
            )

    def token(self, key: str) -> Token | None:
        rows = self._all("SELECT key, user_id, created_us FROM token WHERE key = ?", (key,))
        return Token(rows[0][0], rows[0][1], from_us(rows[0][2])) if rows else None

    def delete_token(self, key: str) -> None:
        self._run("DELETE FROM token WHERE key = ?", (key,))

    def tokens(self) -> list[Token]:
        rows = self._all("SELECT key, user_id, created_us FROM token ORDER BY user_id")
        return [Token(key, user_id, from_us(created)) for key, user_id, created in rows]

    # -- tasks ----------------------------------------------------------------------------

    def add_task(self, task: Task) -> None:
        self.add_tasks([task])

    def add_tasks(self, tasks: Iterable[Task]) -> None:
        rows = [self._task_row(task) for task in tasks]
        with self.transaction():
            self.writes += 1
            self._db.executemany("INSERT INTO task VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)

    def save_task(self, task: Task) -> None:
        """Write a task back after it changed."""
        row = self._task_row(task)
        with self.transaction():
            self.writes += 1
            self._db.execute(
                "UPDATE task SET dc_id = ?, owner_id = ?, created_us = ?, listed = ?, "
                "unlisted_us = ?, queue = ?, due_us = ?, body = ? WHERE id = ?",
                (*row[1:], row[0]),
            )

    @staticmethod
    def _task_row(task: Task) -> tuple[Any, ...]:
        tid = task.tid
        due = due_at(task)
        return (
            task.id,
            tid.dc,
            tid.owner,
            to_us(task.created_at),
            int(task.listed),
            _NEVER if task.unlisted_at is None else to_us(task.unlisted_at),
            str(task.queue),
            _NEVER if due is None else to_us(due),
            json.dumps(task_to_doc(task, store=True), separators=(",", ":")),
        )

    @staticmethod
    def _task(body: str) -> Task:
        doc = json.loads(body)
        return task_from_doc(
            doc,
            lambda value, where: parse_time(value, _EPOCH, where),
            "task",
            default_created=_EPOCH,
        )

    def get_task(self, task_id: str) -> Task | None:
        rows = self._all("SELECT body FROM task WHERE id = ?", (task_id,))
        return self._task(rows[0][0]) if rows else None

    def tasks(self) -> list[Task]:
        return [self._task(row[0]) for row in self._all("SELECT body FROM task ORDER BY rowid")]

    def listed_tasks(self, now: datetime, dc_id: int, owner_id: int | None) -> list[Task]:
        """The tasks in the pending lists of ``dc_id`` at ``now``: one owner's or all, in the
        order they were added."""
        sql = (
            "SELECT body FROM task WHERE listed AND dc_id = ? AND unlisted_us > ? "
            "AND created_us <= ?"
        )
        params: list[Any] = [dc_id, to_us(now), to_us(now)]
        if owner_id is not None:
            sql += " AND owner_id = ?"
            params.append(owner_id)
        return [
            self._task(row[0]) for row in self._all(sql + " ORDER BY created_us, rowid", params)
        ]

    def due_tasks(self, now: datetime, queues: Iterable[str]) -> list[Task]:
        """Tasks of running queues with something to do by ``now`` (an end to log, a message
        to take, a revoke to receive)."""
        names = list(queues)
        if not names:
            return []
        marks = ", ".join("?" * len(names))
        rows = self._all(
            f"SELECT body FROM task WHERE queue IN ({marks}) AND due_us <= ? ORDER BY due_us",
            [*names, to_us(now)],
        )
        return [self._task(row[0]) for row in rows]

    def next_due(self, queues: Iterable[str]) -> datetime | None:
        """When the first task of a running queue next has something to do."""
        names = list(queues)
        if not names:
            return None
        marks = ", ".join("?" * len(names))
        rows = self._all(f"SELECT MIN(due_us) FROM task WHERE queue IN ({marks})", names)
        due = rows[0][0]
        return None if due is None or due >= _NEVER else from_us(due)

    def queue_tasks(self, queue: str) -> list[Task]:
        """Every task of a queue that has not ended or still has something to do."""
        rows = self._all("SELECT body FROM task WHERE queue = ?", (queue,))
        return [self._task(row[0]) for row in rows]

    def count_tasks(self) -> int:
        return int(self._all("SELECT COUNT(*) FROM task")[0][0])

    def count_listed(self, now: datetime) -> int:
        rows = self._all(
            "SELECT COUNT(*) FROM task WHERE listed AND unlisted_us > ? AND created_us <= ?",
            (to_us(now), to_us(now)),
        )
        return int(rows[0][0])

    # -- jobs (the log callbacks of deletes) ----------------------------------------------

    def add_job(self, task_id: str, queued: datetime, detail: str) -> None:
        with self.transaction():
            self.writes += 1
            self._db.execute(
                "INSERT INTO job (task, queued_us, detail) VALUES (?, ?, ?)",
                (task_id, to_us(queued), detail),
            )

    def jobs(self) -> list[tuple[int, str, datetime, str]]:
        rows = self._all("SELECT id, task, queued_us, detail FROM job ORDER BY id")
        return [(id, task, from_us(queued), detail) for id, task, queued, detail in rows]

    def remove_job(self, job_id: int) -> None:
        with self.transaction():
            self.writes += 1
            self._db.execute("DELETE FROM job WHERE id = ?", (job_id,))

    # -- the task log ---------------------------------------------------------------------

    def add_log_entries(self, entries: Iterable[LogEntry]) -> None:
        rows = [
            (
                to_us(e.time),
                e.dc_id,
                e.task,
                e.task_type,
                e.status.value,
                e.user_id,
                e.username,
                e.owner_id,
                e.object_type,
                e.object_pk,
                e.object_name,
                e.object_alias,
                e.msg,
                e.detail,
            )
            for e in entries
        ]
        with self.transaction():
            self.writes += 1
            bulk = len(rows) >= BULK_ROWS
            if bulk:
                for name in LOG_INDEXES:
                    self._db.execute(f"DROP INDEX IF EXISTS {name}")
            self._db.executemany(
                "INSERT INTO log (time_us, dc_id, task, task_type, status, user_id, username, "
                "owner_id, object_type, object_pk, object_name, object_alias, msg, detail) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
            if bulk:
                self._create_log_indexes()
            self._counts.add((r[0], (r[1], r[7], r[3], r[4], r[8], r[9])) for r in rows)

    def _create_log_indexes(self) -> None:
        for name, on in LOG_INDEXES.items():
            self._db.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {on}")

    def _count_existing_log(self) -> None:
        with self.transaction():
            self._counts.clear()
            rows = self._db.execute(
                "SELECT time_us, dc_id, owner_id, task_type, status, object_type, object_pk "
                "FROM log"
            )
            self._counts.add((row[0], tuple(row[1:])) for row in rows)

    _LOG_COLUMNS = (
        "time_us, task, task_type, status, dc_id, user_id, username, owner_id, object_type, "
        "object_pk, object_name, object_alias, msg, detail, id"
    )
    #: The columns of an entry of the paged view: the object as it is now.
    _PAGE_COLUMNS = (
        "time_us, task, task_type, status, dc_id, user_id, username, owner_id, object_type, "
        f"object_pk, {CURRENT_NAME_SQL}, {CURRENT_ALIAS_SQL}, msg, detail, id"
    )

    @staticmethod
    def _entry(row: tuple[Any, ...]) -> LogEntry:
        return LogEntry(from_us(row[0]), row[1], row[2], LogStatus(row[3]), *row[4:14])

    @staticmethod
    def _visible(vis: Visibility) -> tuple[str, list[Any]]:
        """What ``vis`` sees, as one condition (for the counters, whose table is small)."""
        if vis.unbound_everywhere:
            where, params = "(dc_id = ? OR task_type >= 100)", [vis.dc_id]
        else:
            where, params = "dc_id = ?", [vis.dc_id]
        if vis.owner_id is not None:
            where += " AND owner_id = ?"
            params.append(vis.owner_id)
        return where, params

    def _branches(self, vis: Visibility) -> list[tuple[str, list[Any]]]:
        """What ``vis`` sees, as disjoint parts of the log that each read one index in time
        order (an ``OR`` would make SQLite sort every visible entry): ``FROM`` clauses with
        their ``WHERE``."""
        where, params = "log WHERE dc_id = ?", [vis.dc_id]
        if vis.owner_id is not None:
            where += " AND owner_id = ?"
            params.append(vis.owner_id)
        branches = [(where, params)]
        if vis.unbound_everywhere:
            # Named: SQLite would rather take the status index and read every entry of it.
            unbound = "log INDEXED BY log_unbound_dc_time WHERE dc_id = ? AND task_type >= 100"
            if self._dc_ids is None:
                self._dc_ids = [row[0] for row in self._all("SELECT id FROM dc ORDER BY id")]
            branches += [(unbound, [dc_id]) for dc_id in self._dc_ids if dc_id != vis.dc_id]
        return branches

    def _merged(
        self,
        vis: Visibility,
        sql: str,
        params: list[Any],
        *,
        newest_first: bool,
        limit: int | None,
    ) -> list[tuple[Any, ...]]:
        """``sql`` (with ``FROM {where}`` for the visible part) run per branch, merged in time
        order.

        The rows must start with ``time_us`` and end with ``id``."""
        rows: list[tuple[Any, ...]] = []
        for where, branch_params in self._branches(vis):
            rows += self._all(sql.format(where=where), [*branch_params, *params])
        rows.sort(key=lambda row: (row[0], row[-1]), reverse=newest_first)
        return rows[:limit]

    def log_last(self, vis: Visibility, size: int) -> list[LogEntry]:
        return [self._entry(row) for row in self._last_rows(vis, size, self._LOG_COLUMNS)]

    def log_last_json(self, vis: Visibility, size: int) -> list[str]:
        """:meth:`log_last`, each entry as :meth:`LogEntry.as_cached_item`'s JSON."""
        return [row[1] for row in self._last_rows(vis, size, f"time_us, {CACHED_ITEM_SQL}, id")]

    def _last_rows(self, vis: Visibility, size: int, columns: str) -> list[tuple[Any, ...]]:
        """The last ``size`` entries written to the list ``vis`` reads (a datacenter's staff
        list, or an owner's), newest written first: the order of writing, not of ``time``."""
        where, params = "dc_id = ?", [vis.dc_id]
        if vis.owner_id is not None:
            where += " AND owner_id = ?"
            params.append(vis.owner_id)
        return self._all(
            f"SELECT {columns} FROM log WHERE {where} ORDER BY id DESC LIMIT ?", [*params, size]
        )

    @staticmethod
    def _key_filter(flt: LogFilter) -> tuple[str, list[Any]]:
        """The filters on the columns counters are kept by (the same in the log)."""
        clauses: list[str] = []
        params: list[Any] = []
        if flt.status is not None:
            clauses.append("status = ?")
            params.append(flt.status.value)
        if flt.object_type is not None:
            clauses.append("object_type = ?")
            params.append(flt.object_type)
        if flt.object_name:
            # The objects whose current name holds the text: a deleted object matches nothing,
            # a renamed one its new name (as real deployments look them up).
            clauses.append(
                "object_pk IN (SELECT pk FROM object WHERE type = ? AND name LIKE ? ESCAPE '\\')"
            )
            escaped = flt.object_name.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            params += [flt.object_type or "", f"%{escaped}%"]
        if flt.hide_auto:
            clauses.append(f"task_type NOT IN {AUTO_TASK_TYPES}")
        return "".join(f" AND {c}" for c in clauses), params

    @staticmethod
    def _window(flt: LogFilter) -> tuple[int, int]:
        """The filter's dates as ``[lo, hi)``: from ``date_from`` 00:00, to ``date_to`` 00:00
        included (real deployments compare ``time <= date_to``)."""
        time_from, time_to = flt.time_from(), flt.time_to()
        return (
            EARLIEST if time_from is None else to_us(time_from),
            LATEST if time_to is None else to_us(time_to) + 1,
        )

    def _running_entries(
        self,
        vis: Visibility,
        flt: LogFilter,
        now: datetime,
        *,
        newest_first: bool,
        columns: str | None = None,
    ) -> list[tuple[Any, ...]]:
        """The visible, filtered entries of the tasks running at ``now``: few, whatever the
        size of the log, so they are read whole."""
        running = (
            "SELECT id FROM task WHERE listed AND dc_id = ? AND unlisted_us > ? AND created_us <= ?"
        )
        params: list[Any] = [vis.dc_id, to_us(now), to_us(now)]
        if vis.owner_id is not None:
            running += " AND owner_id = ?"
            params.append(vis.owner_id)
        keys, key_params = self._key_filter(flt)
        lo, hi = self._window(flt)
        return self._merged(
            vis,
            f"SELECT {columns or self._LOG_COLUMNS} FROM {{where}}{keys} "
            f"AND time_us >= ? AND time_us < ? AND task IN ({running})",
            [*key_params, lo, hi, *params],
            newest_first=newest_first,
            limit=None,
        )

    def log_count(self, vis: Visibility, flt: LogFilter, now: datetime) -> int:
        if flt.show_running:
            return len(self._running_entries(vis, flt, now, newest_first=True))
        return sum(self._counted(vis, flt, *self._window(flt)).values())

    def _counted(
        self, vis: Visibility, flt: LogFilter, lo: int, hi: int, by: str | None = None
    ) -> dict[Any, int]:
        where, params = self._visible(vis)
        keys, key_params = self._key_filter(flt)
        group = "NULL" if by is None else by

        def exact(a: int, b: int) -> dict[Any, int]:
            # Counted here, not by GROUP BY: SQLite would group through the status index and
            # read every entry of the datacenter. Less than a minute holds few entries.
            found: Counter[Any] = Counter()
            for branch, branch_params in self._branches(vis):
                rows = self._all(
                    f"SELECT {group} FROM {branch}{keys} AND time_us >= ? AND time_us < ?",
                    [*branch_params, *key_params, a, b],
                )
                found.update(row[0] for row in rows)
            return found

        with self._lock:
            return self._counts.count(where + keys, [*params, *key_params], lo, hi, exact, by=by)

    def log_page(
        self, vis: Visibility, flt: LogFilter, now: datetime, number: int, order: Order
    ) -> list[LogEntry]:
        rows = self._page_rows(vis, flt, now, number, order, self._PAGE_COLUMNS)
        return [self._entry(row) for row in rows]

    def log_page_json(
        self, vis: Visibility, flt: LogFilter, now: datetime, number: int, order: Order
    ) -> list[str]:
        """:meth:`log_page`, each entry as :meth:`LogEntry.as_page_item`'s JSON."""
        columns = f"time_us, {PAGE_ITEM_SQL}, id"
        return [row[1] for row in self._page_rows(vis, flt, now, number, order, columns)]

    def _page_rows(
        self,
        vis: Visibility,
        flt: LogFilter,
        now: datetime,
        number: int,
        order: Order,
        columns: str,
    ) -> list[tuple[Any, ...]]:
        """The rows of a page, ``columns`` starting with ``time_us`` and ending with ``id``."""
        newest_first = order is Order.NEWEST_FIRST
        start = (number - 1) * PAGE_SIZE
        if flt.show_running:
            rows = self._running_entries(vis, flt, now, newest_first=newest_first, columns=columns)
            return rows[start : start + PAGE_SIZE]
        keys, key_params = self._key_filter(flt)
        lo, hi = self._window(flt)
        direction = "DESC" if newest_first else "ASC"
        if start == 0:  # the first page starts at the window's edge: nothing to seek
            bounds, bound_params = "AND time_us >= ? AND time_us < ?", [lo, hi]
        else:
            first = self._seek(vis, keys, key_params, lo, hi, start, newest_first)
            if first is None:
                return []
            # From the first entry on, towards the window's far end only: given two bounds on
            # the same side, SQLite may seek by the window's and read every entry up to the
            # first.
            if newest_first:
                bounds, bound_params = "AND (time_us, id) <= (?, ?) AND time_us >= ?", [*first, lo]
            else:
                bounds, bound_params = "AND (time_us, id) >= (?, ?) AND time_us < ?", [*first, hi]
        return self._merged(
            vis,
            f"SELECT {columns} FROM {{where}}{keys} {bounds} "
            f"ORDER BY time_us {direction}, id {direction} LIMIT ?",
            [*key_params, *bound_params, PAGE_SIZE],
            newest_first=newest_first,
            limit=PAGE_SIZE,
        )

    def _seek(
        self,
        vis: Visibility,
        keys: str,
        key_params: list[Any],
        lo: int,
        hi: int,
        index: int,
        newest_first: bool,
    ) -> tuple[int, int] | None:
        """The ``(time_us, id)`` of the entry at ``index`` of the filtered window."""
        where, params = self._visible(vis)

        def exact(a: int, b: int) -> list[tuple[int, int]]:
            found: list[tuple[int, int]] = []
            for branch, branch_params in self._branches(vis):
                found += self._all(
                    f"SELECT time_us, id FROM {branch}{keys} AND time_us >= ? AND time_us < ?",
                    [*branch_params, *key_params, a, b],
                )
            return found

        with self._lock:
            return self._counts.seek(
                where + keys,
                [*params, *key_params],
                lo,
                hi,
                index,
                newest_first=newest_first,
                exact=exact,
            )

    def log_counts_since(self, vis: Visibility, since: datetime) -> dict[LogStatus, int]:
        counted = self._counted(vis, LogFilter(), to_us(since), LATEST, by="status")
        counts = dict.fromkeys(LogStatus, 0)
        counts.update({LogStatus(status): n for status, n in counted.items()})
        return counts

    def log_first_since(self, vis: Visibility, since: datetime) -> datetime | None:
        """The time of the oldest entry ``vis`` sees at or after ``since``."""
        times = [
            row[0]
            for where, params in self._branches(vis)
            for row in self._all(
                f"SELECT MIN(time_us) FROM {where} AND time_us >= ?", [*params, to_us(since)]
            )
            if row[0] is not None
        ]
        return from_us(min(times)) if times else None

    def log_entries(self) -> list[LogEntry]:
        """Every entry, in the order they were written."""
        return [
            self._entry(row)
            for row in self._all(f"SELECT {self._LOG_COLUMNS} FROM log ORDER BY id")
        ]

    def count_log(self) -> int:
        with self._lock:
            return self._counts.total("1", [])
