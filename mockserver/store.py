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
from mockserver.lifecycle import Outcome, Task, TaskObject
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

_NEVER = 2**62  # the end of a task that runs until it is cancelled

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS dc (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, is_default INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS user (
    id INTEGER PRIMARY KEY, username TEXT NOT NULL UNIQUE, password TEXT NOT NULL,
    api_key TEXT UNIQUE, current_dc INTEGER NOT NULL, dcs TEXT NOT NULL, admin_dcs TEXT NOT NULL,
    is_staff INTEGER NOT NULL, api_access INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS token (
    key TEXT PRIMARY KEY, user_id INTEGER NOT NULL UNIQUE, created_us INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS task (
    id TEXT PRIMARY KEY, dc_id INTEGER NOT NULL, owner_id INTEGER NOT NULL,
    object TEXT NOT NULL, view TEXT NOT NULL, method TEXT NOT NULL, msg TEXT NOT NULL,
    params TEXT NOT NULL, username TEXT NOT NULL,
    created_us INTEGER NOT NULL, started_us INTEGER NOT NULL, ends_us INTEGER,
    outcome TEXT NOT NULL, result TEXT NOT NULL, detail TEXT NOT NULL,
    revoked_us INTEGER, revoke_result TEXT NOT NULL, revoke_detail TEXT NOT NULL,
    end_us INTEGER NOT NULL,           -- when it ends or ended, revoked or not; _NEVER if never
    final_logged INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS task_running ON task (dc_id, end_us, created_us);
CREATE INDEX IF NOT EXISTS task_unsettled ON task (final_logged, end_us);
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
PAGE_ITEM_SQL = (
    f"json_object('time', {_time_sql('Z')}, 'task', task, 'status', status, "
    "'username', username, 'msg', msg, 'detail', detail, 'object_name', object_name, "
    f"'object_alias', object_alias, 'object_type', object_type, 'flag', {_FLAG_SQL})"
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
        self._db.executescript(SCHEMA)
        self._create_log_indexes()
        self._counts = LogCounts(self._db)
        uncounted = self._db.execute(
            "SELECT EXISTS (SELECT 1 FROM log) AND NOT EXISTS (SELECT 1 FROM log_count)"
        ).fetchone()[0]
        if uncounted or self.get_meta("log_counts") not in (None, LAYOUT):
            self._count_existing_log()  # a file from before the counters, or counted otherwise
        self.set_meta("log_counts", LAYOUT)

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
            for table in ("meta", "dc", "user", "token", "task", "log"):
                self._db.execute(f"DELETE FROM {table}")
            self._counts.clear()
            self._dc_ids = None
            self.writes += 1
            self.set_meta("log_counts", LAYOUT)

    # -- meta -----------------------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        rows = self._all("SELECT value FROM meta WHERE key = ?", (key,))
        return rows[0][0] if rows else None

    def set_meta(self, key: str, value: str) -> None:
        self._run("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    # -- datacenters and users ------------------------------------------------------------

    def add_dc(self, dc: Dc) -> None:
        self._dc_ids = None
        self._run("INSERT INTO dc VALUES (?, ?, ?)", (dc.id, dc.name, int(dc.is_default)))

    def dcs(self) -> list[Dc]:
        rows = self._all("SELECT id, name, is_default FROM dc ORDER BY id")
        return [Dc(id, name, bool(is_default)) for id, name, is_default in rows]

    def add_user(self, user: User) -> None:
        self._run(
            "INSERT INTO user VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
            )
            for row in rows
        ]

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

    # -- tasks ----------------------------------------------------------------------------

    def add_task(self, task: Task, *, final_logged: bool = False) -> None:
        self.add_tasks([task], final_logged=final_logged)

    def add_tasks(self, tasks: Iterable[Task], *, final_logged: bool = False) -> None:
        rows = [self._task_row(task, final_logged) for task in tasks]
        with self.transaction():
            self.writes += 1
            self._db.executemany(
                f"INSERT INTO task VALUES ({', '.join('?' * 20)})",
                rows,
            )

    @staticmethod
    def _task_row(task: Task, final_logged: bool) -> tuple[Any, ...]:
        tid = task.tid
        ended = task.ended_at
        return (
            task.id,
            tid.dc,
            tid.owner,
            json.dumps([task.object.type, task.object.pk, task.object.name, task.object.alias]),
            task.view,
            task.method,
            task.msg,
            json.dumps(task.params),
            task.username,
            to_us(task.created_at),
            to_us(task.started_at),
            None if task.ends_at is None else to_us(task.ends_at),
            task.outcome.value,
            json.dumps(task.result),
            task.detail,
            None if task.revoked_at is None else to_us(task.revoked_at),
            task.revoke_result,
            task.revoke_detail,
            _NEVER if ended is None else to_us(ended),
            int(final_logged),
        )

    _TASK_COLUMNS = (
        "id, object, view, method, msg, params, username, created_us, started_us, ends_us, "
        "outcome, result, detail, revoked_us, revoke_result, revoke_detail"
    )

    @staticmethod
    def _task(row: tuple[Any, ...]) -> Task:
        object_type, pk, name, alias = json.loads(row[1])
        return Task(
            id=row[0],
            object=TaskObject(object_type, pk, name, alias),
            view=row[2],
            method=row[3],
            msg=row[4],
            params=json.loads(row[5]),
            username=row[6],
            created_at=from_us(row[7]),
            started_at=from_us(row[8]),
            ends_at=None if row[9] is None else from_us(row[9]),
            outcome=Outcome(row[10]),
            result=json.loads(row[11]),
            detail=row[12],
            revoked_at=None if row[13] is None else from_us(row[13]),
            revoke_result=row[14],
            revoke_detail=row[15],
        )

    def get_task(self, task_id: str) -> Task | None:
        rows = self._all(f"SELECT {self._TASK_COLUMNS} FROM task WHERE id = ?", (task_id,))
        return self._task(rows[0]) if rows else None

    def revoke_task(self, task_id: str, at: datetime, result: str, detail: str) -> None:
        at_us = to_us(at)
        self.writes += 1
        self._run(
            "UPDATE task SET revoked_us = ?, revoke_result = ?, revoke_detail = ?, end_us = ? "
            "WHERE id = ?",
            (at_us, result, detail, at_us, task_id),
        )

    def running_task_ids(self, now: datetime, dc_id: int, owner_id: int | None) -> list[str]:
        """Ids of the tasks of ``dc_id`` running at ``now``, of one owner's objects or all."""
        sql = "SELECT id FROM task WHERE dc_id = ? AND end_us > ? AND created_us <= ?"
        params: list[Any] = [dc_id, to_us(now), to_us(now)]
        if owner_id is not None:
            sql += " AND owner_id = ?"
            params.append(owner_id)
        return [row[0] for row in self._all(sql + " ORDER BY created_us", params)]

    def unsettled_tasks(self, now: datetime) -> list[Task]:
        """Tasks that have ended by ``now`` but whose final log entry is not written yet."""
        rows = self._all(
            f"SELECT {self._TASK_COLUMNS} FROM task "
            "WHERE final_logged = 0 AND end_us <= ? ORDER BY end_us",
            (to_us(now),),
        )
        return [self._task(row) for row in rows]

    def mark_settled(self, task_ids: Iterable[str]) -> None:
        with self._lock:
            self.writes += 1
            self._db.executemany(
                "UPDATE task SET final_logged = 1 WHERE id = ?", [(i,) for i in task_ids]
            )

    def next_end(self) -> datetime | None:
        """When the first task whose final entry is not written yet ends; ``None`` if none
        ever will."""
        rows = self._all("SELECT MIN(end_us) FROM task WHERE final_logged = 0")
        end = rows[0][0]
        return None if end is None or end >= _NEVER else from_us(end)

    def count_tasks(self) -> int:
        return int(self._all("SELECT COUNT(*) FROM task")[0][0])

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
            self._counts.add((r[0], (r[1], r[7], r[3], r[4], r[8], r[10])) for r in rows)

    def _create_log_indexes(self) -> None:
        for name, on in LOG_INDEXES.items():
            self._db.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {on}")

    def _count_existing_log(self) -> None:
        with self.transaction():
            self._counts.clear()
            rows = self._db.execute(
                "SELECT time_us, dc_id, owner_id, task_type, status, object_type, object_name "
                "FROM log"
            )
            self._counts.add((row[0], tuple(row[1:])) for row in rows)

    _LOG_COLUMNS = (
        "time_us, task, task_type, status, dc_id, user_id, username, owner_id, object_type, "
        "object_pk, object_name, object_alias, msg, detail, id"
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
        return self._merged(
            vis,
            f"SELECT {columns} FROM {{where}} ORDER BY time_us DESC, id DESC LIMIT ?",
            [size],
            newest_first=True,
            limit=size,
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
            clauses.append("object_name LIKE ? ESCAPE '\\'")
            escaped = flt.object_name.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            params.append(f"%{escaped}%")
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
        running = "SELECT id FROM task WHERE dc_id = ? AND end_us > ? AND created_us <= ?"
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
        rows = self._page_rows(vis, flt, now, number, order, self._LOG_COLUMNS)
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

    def count_log(self) -> int:
        with self._lock:
            return self._counts.total("1", [])
