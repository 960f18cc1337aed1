"""Where the reference server keeps its state: one SQLite database.

Datacenters, users, login tokens, tasks and the task log (:mod:`mockserver.logtable`). Times
are stored as integer microseconds since the epoch, so they come back exactly as they went in.
Every query the API path runs is backed by an index, and none of them reads a number of rows
that grows with the log: counts and the first entry of a page come from per-bucket counters
(:mod:`mockserver.logcounts`), and a page is read from that entry on, through an index in time
order. ``bench/`` measures them up to ten million log entries.

Several processes may serve one database file (``esdc-api serve --workers N``, or two servers
on one ``--db``): writes are transactions that take the database's write lock first, and
:attr:`Store.writes` also counts the commits of other connections (SQLite's ``data_version``),
so what a process keeps (answers, a task's parsed state, entries' JSON) is dropped as soon as
another one writes.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from mockserver.accounts import Dc, Token, User
from mockserver.lifecycle import Task, due_at
from mockserver.logcounts import EARLIEST, LATEST, LAYOUT, LogCounts
from mockserver.logtable import STATUS_CODES, STATUSES, LogTable, task_key
from mockserver.progress import Steps, quiet
from mockserver.tasklog import (
    AUTO_TASK_TYPES,
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
SCHEMA_VERSION = "3"

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
"""


def to_us(moment: datetime) -> int:
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_us(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=us)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: ``meta`` keys other connections bump when they change what this one keeps: the whole state
#: (a reset), the objects' names, and the accounts, settings, workers, failures and clock.
_VERSIONED = ("generation", "objects", "config")
#: Pages a world built in memory is copied into its file by, per step (4 MiB).
COPY_PAGES = 1024
#: Parsed tasks kept by their stored text (the same text is the same task).
PARSED_TASKS = 4096


class StoreError(Exception):
    """A database file the reference server cannot use; the message says what to do."""


def _check_place(path: Path) -> None:
    """Refuse, before SQLite tries, a path where no database file can be."""
    if path.is_dir():
        raise StoreError(f"{str(path)!r} is a folder, not a database file; name a file in it")
    if not path.parent.is_dir():
        raise StoreError(
            f"the folder of {str(path)!r} does not exist; create it, or name a file in a "
            "folder that does"
        )


def _unusable(path: str, exc: sqlite3.DatabaseError) -> StoreError:
    """What a database error met while opening ``path`` means for the user."""
    text = str(exc)
    if "readonly" in text or "unable to open" in text:
        return StoreError(
            f"cannot write to {path!r} ({text}): the server writes to its database file, and "
            "to the -wal and -shm files SQLite keeps beside it; make the file and its folder "
            "writable, or pick another --db file"
        )
    if "not a database" in text:
        return StoreError(
            f"{path!r} is not a SQLite database (it says: {text}); name another --db file, or "
            "delete this one to start with a new world"
        )
    if isinstance(exc, sqlite3.OperationalError) and "locked" in text:
        return StoreError(f"{path!r} stayed locked by another process for 30 s ({text})")
    return StoreError(
        f"{path!r} is damaged ({text}); restore it from a copy, or delete it to start with a "
        "new world"
    )


class Store:
    """The state of one simulated deployment in a SQLite database.

    :param path: a database file, or ``":memory:"``.
    :param source: a database to start as a copy of (:meth:`copy`).
    :param check: read a file that already holds something through once
        (``PRAGMA quick_check``) before using it, so that damage is found at the start, not
        by the request that happens to read the damaged page.
    :raises StoreError: for a file that cannot be used, saying why and what to do.
    """

    def __init__(
        self,
        path: str | Path = ":memory:",
        *,
        source: sqlite3.Connection | None = None,
        check: bool = True,
    ) -> None:
        self.path = str(path)
        self._shared = self.path != ":memory:"
        if self._shared:
            _check_place(Path(self.path))
        try:
            self._open(check=check, source=source)
        except sqlite3.DatabaseError as exc:
            raise _unusable(self.path, exc) from None

    def _open(self, *, check: bool, source: sqlite3.Connection | None) -> None:
        # A writer waits up to this long for another process's transaction to end.
        self._db = sqlite3.connect(
            self.path, check_same_thread=False, isolation_level=None, timeout=30
        )
        if self._shared and check and Path(self.path).stat().st_size:
            found = self._db.execute("PRAGMA quick_check(1)").fetchone()[0]
            if found != "ok":
                first = " ".join(line for line in found.splitlines() if "***" not in line)
                raise StoreError(
                    f"{self.path!r} is damaged (SQLite's quick_check: {first[:200]}); "
                    "restore it from a copy, or delete it to start with a new world"
                )
        if source is not None:
            source.backup(self._db)
        self._db.execute(
            "PRAGMA journal_mode=WAL" if self._shared else "PRAGMA journal_mode=MEMORY"
        )
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._lock = threading.RLock()
        self._depth = 0
        self._writes = 0
        self._data_version = 0
        #: What other processes change that this one keeps, as last read from ``meta``.
        self._versions: dict[str, str | None] = {}
        self._dc_ids: list[int] | None = None
        self._parsed: OrderedDict[str, Task] = OrderedDict()
        self._check_version()
        with self._lock:  # executescript commits first: not in a transaction
            self._db.executescript(SCHEMA)
            self._log = LogTable(self._db, self._lock)
        with self.transaction():
            uncounted = self._db.execute(
                "SELECT EXISTS (SELECT 1 FROM log) AND NOT (EXISTS (SELECT 1 FROM log_count) "
                "AND EXISTS (SELECT 1 FROM log_tally))"
            ).fetchone()[0]
            if uncounted or self.get_meta("log_counts") not in (None, LAYOUT):
                self._log.count_existing()  # counted another way, or not at all
            self.set_meta("log_counts", LAYOUT)
            self.set_meta("schema", SCHEMA_VERSION)
        self._sync()

    @property
    def writes(self) -> int:
        """Counts writes to the deployment's state, this process's and (in a file) any other
        connection's, so that readers can tell nothing changed."""
        if self._shared:
            self._sync()
        return self._writes

    @writes.setter
    def writes(self, value: int) -> None:
        self._writes = value

    def _sync(self) -> None:
        """Notice another connection's commits: drop what they may have made stale."""
        with self._lock:
            version = self._db.execute("PRAGMA data_version").fetchone()[0]
            if version == self._data_version:
                return
            self._data_version = version
            self._writes += 1
            found = dict.fromkeys(_VERSIONED)
            found.update(
                self._db.execute(
                    f"SELECT key, value FROM meta WHERE key IN {_VERSIONED}"
                ).fetchall()
            )
            if found["generation"] != self._versions.get("generation"):
                self._forget()
            elif found["objects"] != self._versions.get("objects"):
                self._log.forget(names_only=True)
            self._versions = found

    def _forget(self) -> None:
        self._log.forget()
        self._dc_ids = None

    def _bump(self, key: str) -> None:
        """Tell other connections that ``key`` changed (see :data:`_VERSIONED`)."""
        value = str(int(self.get_meta(key) or 0) + 1)
        self.set_meta(key, value)
        self._versions[key] = value

    @property
    def config_version(self) -> str | None:
        """Changes whenever the world's accounts, settings, workers, failures or clock do, in
        this process or another."""
        self.writes  # noqa: B018 -- reads other connections' commits first
        return self._versions.get("config")

    def config_changed(self, *, answers: bool = True) -> None:
        """Say that the accounts, settings, workers, failures or clock changed.

        :param answers: whether what this process answered may have changed (not so for a
            clock moved: answers say until when they hold)."""
        with self.transaction():
            if answers:
                self.writes += 1
            self._bump("config")

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

    def size(self) -> int:
        """How many bytes the database holds (its pages)."""
        with self._lock:
            pages = self._db.execute("PRAGMA page_count").fetchone()[0]
            return int(pages) * int(self._db.execute("PRAGMA page_size").fetchone()[0])

    def copy(self) -> Store:
        """The whole state, copied into a new in-memory database with SQLite's backup API
        (about a millisecond for the demo world: what makes a named world cheap)."""
        with self._lock:
            return Store(":memory:", source=self._db)

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
            # IMMEDIATE: take the write lock now, so that what the transaction read is still
            # true when it writes, whatever another process does meanwhile.
            self._db.execute("BEGIN IMMEDIATE")
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
            generation = int(self.get_meta("generation") or 0)
            config = self.get_meta("config")  # counts on: a reader compares it with its own
            for table in ("meta", "dc", "user", "object", "token", "task", "job"):
                self._db.execute(f"DELETE FROM {table}")
            self._log.clear()
            self._forget()
            self.writes += 1
            self.set_meta("log_counts", LAYOUT)
            self.set_meta("schema", SCHEMA_VERSION)
            self.set_meta("generation", str(generation + 1))
            if config is not None:
                self.set_meta("config", config)
            self._versions = {"generation": str(generation + 1)}
            self._bump("config")

    # -- a world built elsewhere -------------------------------------------------------------

    def succeed(self, other: Store) -> None:
        """Mark this store's world as the one that replaces ``other``'s (every connection of
        ``other``'s file then drops what it kept), before :meth:`copy_into` its file."""
        with self.transaction():
            for key in _VERSIONED:
                self.set_meta(key, str(int(other.get_meta(key) or 0) + 1))

    def copy_into(self, path: str, steps: Steps = quiet) -> None:
        """Write this store's world over the database file at ``path``, in one transaction:
        the file's other connections read its old world until the copy ends, and a crash
        meanwhile leaves the old world. It goes in steps of :data:`COPY_PAGES` pages, while
        a writer on the file waits (a reader does not)."""
        target = sqlite3.connect(path, timeout=30)
        try:
            with self._lock:
                self._db.backup(
                    target,
                    pages=COPY_PAGES,
                    progress=lambda _status, left, total: steps(
                        "copying it into the database file", total - left, total
                    ),
                )
        finally:
            target.close()

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
            self._bump("objects")
            self._log.forget(names_only=True)

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

    def _task(self, body: str) -> Task:
        """The task stored as ``body``: parsed once, then a copy of that (callers change the
        tasks they get)."""
        parsed = self._parsed.get(body)
        if parsed is None:
            doc = json.loads(body)
            parsed = task_from_doc(
                doc,
                lambda value, where: parse_time(value, _EPOCH, where),
                "task",
                default_created=_EPOCH,
            )
            self._parsed[body] = parsed
            if len(self._parsed) > PARSED_TASKS:
                self._parsed.popitem(last=False)
        copy = Task.__new__(Task)
        copy.__dict__.update(parsed.__dict__)
        copy.steps = list(parsed.steps)
        copy.call = dict(parsed.call)
        return copy

    def get_task(self, task_id: str) -> Task | None:
        rows = self._all("SELECT body FROM task WHERE id = ?", (task_id,))
        return self._task(rows[0][0]) if rows else None

    def tasks(self) -> list[Task]:
        return [self._task(row[0]) for row in self._all("SELECT body FROM task ORDER BY rowid")]

    def recent_tasks(self, limit: int) -> list[Task]:
        """The ``limit`` tasks created last, the newest first."""
        rows = self._all(
            "SELECT body FROM task ORDER BY created_us DESC, rowid DESC LIMIT ?", (limit,)
        )
        return [self._task(row[0]) for row in rows]

    def listed_tasks(self, now: datetime, dc_id: int, owner_id: int | None) -> list[Task]:
        """The tasks in the pending lists of ``dc_id`` at ``now``: one owner's or all, in the
        order they were added."""
        rows = self._all(*self._listed_sql("body", now, dc_id, owner_id))
        return [self._task(row[0]) for row in rows]

    def listed_task_ids(self, now: datetime, dc_id: int, owner_id: int | None) -> list[str]:
        """The ids of :meth:`listed_tasks`, in the same order."""
        return [row[0] for row in self._all(*self._listed_sql("id", now, dc_id, owner_id))]

    @staticmethod
    def _listed_sql(
        column: str, now: datetime, dc_id: int, owner_id: int | None
    ) -> tuple[str, list[Any]]:
        sql = (
            f"SELECT {column} FROM task WHERE listed AND dc_id = ? AND unlisted_us > ? "
            "AND created_us <= ?"
        )
        params: list[Any] = [dc_id, to_us(now), to_us(now)]
        if owner_id is not None:
            sql += " AND owner_id = ?"
            params.append(owner_id)
        return sql + " ORDER BY created_us, rowid", params

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
        """Write entries in this order: their ids, and the last-10 views, follow it."""
        with self.transaction():
            self.writes += 1
            self._log.add(entries)

    def load_history(
        self,
        tasks: Iterable[tuple[Any, ...]],
        counted: Iterable[tuple[Any, ...]],
        *,
        among: Iterable[tuple[Any, ...]] = (),
        after: Iterable[tuple[Any, ...]] = (),
    ) -> None:
        """Write the entries of many finished tasks into an empty log at once, in time order
        (:meth:`mockserver.logtable.LogTable.load_tasks`), with ``among`` log rows among them
        and ``after`` ones after them."""
        with self.transaction():
            self.writes += 1
            self._log.load_tasks(tasks, counted, among=among, after=after)

    def log_row(self, entry: LogEntry) -> tuple[Any, ...]:
        """An entry as a row of the log (for :meth:`load_history`)."""
        with self._lock:
            return self._log.row(entry)

    def log_shape(
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
        """The ids a row of the log gives an entry's object and what it says (its *shape*),
        made if new: rows of many entries that say the same are made without an entry each."""
        with self._lock:
            return self._log.shape_for(
                user_id, username, object_type, object_pk, object_name, object_alias, msg, detail
            )

    @staticmethod
    def _visible(vis: Visibility, *, tally: bool = False) -> tuple[str, list[Any]]:
        """What ``vis`` sees, as one condition on the log, its counters or (``tally``) its
        tally."""
        unbound = "unbound = 1" if tally else "task_type >= 100"
        if vis.unbound_everywhere:
            where, params = f"(dc_id = ? OR {unbound})", [vis.dc_id]
        else:
            where, params = "dc_id = ?", [vis.dc_id]
        if vis.owner_id is not None:
            where += " AND owner_id = ?"
            params.append(vis.owner_id)
        return where, params

    def _counters(
        self, vis: Visibility, flt: LogFilter
    ) -> tuple[LogCounts, str, list[Any], str, list[Any]]:
        """The counters a filter is counted by (the tally if it filters by status alone), the
        condition on them, and the filter on the log."""
        keys, key_params = self._key_filter(flt)
        tally = flt.object_type is None and not flt.object_name and not flt.hide_auto
        where, params = self._visible(vis, tally=tally)
        counts = self._log.tally if tally else self._log.counts
        return counts, where + keys, [*params, *key_params], keys, key_params

    def _branches(self, vis: Visibility) -> list[tuple[str, list[Any]]]:
        """What ``vis`` sees, as disjoint parts of the log that each read one index in time
        order (an ``OR`` would make SQLite sort every visible entry): ``FROM`` clauses with
        their ``WHERE``."""
        if vis.owner_id is None:
            branches = [("log INDEXED BY log_dc_time WHERE dc_id = ?", [vis.dc_id])]
        else:
            branches = [
                (
                    "log INDEXED BY log_dc_time WHERE dc_id = ? AND owner_id = ?",
                    [vis.dc_id, vis.owner_id],
                )
            ]
        if vis.unbound_everywhere:
            unbound = "log INDEXED BY log_unbound_dc_time WHERE dc_id = ? AND task_type >= 100"
            if vis.owner_id is not None:
                unbound += " AND owner_id = ?"
            if self._dc_ids is None:
                self._dc_ids = [row[0] for row in self._all("SELECT id FROM dc ORDER BY id")]
            owner = [] if vis.owner_id is None else [vis.owner_id]
            branches += [(unbound, [dc_id, *owner]) for dc_id in self._dc_ids if dc_id != vis.dc_id]
        return branches

    def _union(self, vis: Visibility, sql: str, params: list[Any]) -> tuple[str, list[Any]]:
        """``sql`` (with ``FROM {where}`` for the visible part) for every branch, as the
        parts of one ``UNION ALL`` (whose parts SQLite merges in order, each read through its
        index, when the compound is ordered as the index is)."""
        parts, found = [], []
        for where, branch_params in self._branches(vis):
            parts.append(sql.format(where=where))
            found += [*branch_params, *params]
        return " UNION ALL ".join(parts), found

    def _merged(
        self,
        vis: Visibility,
        sql: str,
        params: list[Any],
        *,
        newest_first: bool,
        limit: int,
    ) -> list[tuple[int, int]]:
        """``sql`` (with ``FROM {where}`` for the visible part, selecting ``time_us, id`` in
        time order) run per branch, merged in time order, in one query."""
        union, found = self._union(vis, sql, params)
        direction = "DESC" if newest_first else "ASC"
        return self._all(f"{union} ORDER BY 1 {direction}, 2 {direction} LIMIT {limit}", found)

    def log_last(self, vis: Visibility, size: int) -> list[LogEntry]:
        """The last ``size`` entries written to the list ``vis`` reads (a datacenter's staff
        list, or an owner's), newest written first: the order of writing, not of ``time``."""
        with self._lock:
            return self._log.entries(self._log.recent(vis.dc_id, vis.owner_id, size))

    def log_last_json(self, vis: Visibility, size: int) -> list[str]:
        """:meth:`log_last`, each entry as :meth:`LogEntry.as_cached_item`'s JSON."""
        with self._lock:
            return self._log.cached_json(self._log.recent(vis.dc_id, vis.owner_id, size))

    @staticmethod
    def _key_filter(flt: LogFilter) -> tuple[str, list[Any]]:
        """The filters on the columns counters are kept by (the same in the log)."""
        clauses: list[str] = []
        params: list[Any] = []
        if flt.status is not None:
            clauses.append("status = ?")
            params.append(STATUS_CODES[flt.status])
        if flt.object_type is not None:
            clauses.append("object_type = ?")
            params.append(flt.object_type)
        if flt.object_name:
            # The objects whose current name holds the text: a deleted object matches nothing,
            # a renamed one its new name (as real deployments look them up).
            clauses.append(
                "object IN (SELECT id FROM log_object WHERE pk IN "
                "(SELECT pk FROM object WHERE type = ? AND name LIKE ? ESCAPE '\\'))"
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
        self, vis: Visibility, flt: LogFilter, now: datetime, *, newest_first: bool
    ) -> list[tuple[int, int]]:
        """The visible, filtered entries of the tasks running at ``now``: few, whatever the
        size of the log, so they are read whole (through the index of the tasks' ids)."""
        running = self.listed_task_ids(now, vis.dc_id, vis.owner_id)
        if not running:
            return []
        where, params = self._visible(vis)
        keys, key_params = self._key_filter(flt)
        lo, hi = self._window(flt)
        marks = ", ".join("?" * len(running))
        rows: list[tuple[int, int]] = self._all(
            f"SELECT time_us, id FROM log INDEXED BY log_task WHERE task_key IN ({marks}) "
            f"AND task IN ({marks}) AND {where}{keys} AND time_us >= ? AND time_us < ?",
            [*(task_key(t) for t in running), *running, *params, *key_params, lo, hi],
        )
        rows.sort(reverse=newest_first)
        return rows

    def log_count(self, vis: Visibility, flt: LogFilter, now: datetime) -> int:
        if flt.show_running:
            return len(self._running_entries(vis, flt, now, newest_first=True))
        return sum(self._counted(vis, flt, *self._window(flt)).values())

    def _counted(
        self, vis: Visibility, flt: LogFilter, lo: int, hi: int, by: str | None = None
    ) -> dict[Any, int]:
        counts, where, params, keys, key_params = self._counters(vis, flt)
        group = "NULL" if by is None else by

        def exact(a: int, b: int) -> tuple[str, list[Any]]:
            # Less than the counters' finest bucket (ten seconds), counted from the time index.
            return self._union(
                vis,
                f"SELECT {group} AS v, COUNT(*) AS n FROM {{where}}{keys} AND time_us >= ? "
                f"AND time_us < ? GROUP BY v",
                [*key_params, a, b],
            )

        with self._lock:
            return counts.count(where, params, lo, hi, exact, by=by)

    def log_page(
        self, vis: Visibility, flt: LogFilter, now: datetime, number: int, order: Order
    ) -> list[LogEntry]:
        with self._lock:
            ids = self._page_ids(vis, flt, now, number, order)
            return self._log.entries(ids, current_names=True)

    def log_page_json(
        self, vis: Visibility, flt: LogFilter, now: datetime, number: int, order: Order
    ) -> list[str]:
        """:meth:`log_page`, each entry as :meth:`LogEntry.as_page_item`'s JSON."""
        with self._lock:
            return self._log.page_json(self._page_ids(vis, flt, now, number, order))

    def _page_ids(
        self, vis: Visibility, flt: LogFilter, now: datetime, number: int, order: Order
    ) -> list[int]:
        """The ids of the entries of a page, in its order."""
        newest_first = order is Order.NEWEST_FIRST
        start = (number - 1) * PAGE_SIZE
        if flt.show_running:
            rows = self._running_entries(vis, flt, now, newest_first=newest_first)
            return [row[1] for row in rows[start : start + PAGE_SIZE]]
        keys, key_params = self._key_filter(flt)
        lo, hi = self._window(flt)
        if start == 0:  # the first page starts at the window's edge: nothing to seek
            bounds, bound_params = "AND time_us >= ? AND time_us < ?", [lo, hi]
        else:
            first = self._seek(vis, flt, lo, hi, start, newest_first)
            if first is None:
                return []
            # From the first entry on, towards the window's far end only: given two bounds on
            # the same side, SQLite may seek by the window's and read every entry up to the
            # first.
            if newest_first:
                bounds, bound_params = "AND (time_us, id) <= (?, ?) AND time_us >= ?", [*first, lo]
            else:
                bounds, bound_params = "AND (time_us, id) >= (?, ?) AND time_us < ?", [*first, hi]
        rows = self._merged(
            vis,
            f"SELECT time_us, id FROM {{where}}{keys} {bounds}",
            [*key_params, *bound_params],
            newest_first=newest_first,
            limit=PAGE_SIZE,
        )
        return [row[1] for row in rows]

    def _seek(
        self,
        vis: Visibility,
        flt: LogFilter,
        lo: int,
        hi: int,
        index: int,
        newest_first: bool,
    ) -> tuple[int, int] | None:
        """The ``(time_us, id)`` of the entry at ``index`` of the filtered window."""
        counts, where, params, keys, key_params = self._counters(vis, flt)

        def nth(a: int, b: int, index: int) -> tuple[int, int] | int:
            # Less than the finest bucket: its seconds are counted from the time index, then the
            # entries of the second that holds the one sought are read.
            union, union_params = self._union(
                vis,
                # a is an int: written into the query, as {where} comes with its parameters
                f"SELECT (time_us - {int(a)}) / 1000000 AS s, COUNT(*) AS n FROM {{where}}{keys} "
                "AND time_us >= ? AND time_us < ? GROUP BY s",
                [*key_params, a, b],
            )
            seconds = dict(self._all(f"SELECT s, SUM(n) FROM ({union}) GROUP BY s", union_params))
            total = sum(seconds.values())
            if index >= total:
                return total
            for second in sorted(seconds, reverse=newest_first):
                if index >= seconds[second]:
                    index -= seconds[second]
                    continue
                start = a + second * 1_000_000
                union, union_params = self._union(
                    vis,
                    f"SELECT time_us, id FROM {{where}}{keys} AND time_us >= ? AND time_us < ?",
                    [*key_params, start, min(b, start + 1_000_000)],
                )
                found: list[tuple[int, int]] = self._all(union, union_params)
                found.sort(reverse=newest_first)
                return found[index]
            raise AssertionError("the seconds counted hold the entry")

        with self._lock:
            return counts.seek(
                where,
                params,
                lo,
                hi,
                index,
                newest_first=newest_first,
                nth=nth,
            )

    def log_counts_since(self, vis: Visibility, since: datetime) -> dict[LogStatus, int]:
        counted = self._counted(vis, LogFilter(), to_us(since), LATEST, by="status")
        counts = dict.fromkeys(LogStatus, 0)
        counts.update({STATUSES[status]: n for status, n in counted.items()})
        return counts

    def log_first_since(self, vis: Visibility, since: datetime) -> datetime | None:
        """The time of the oldest entry ``vis`` sees at or after ``since``."""
        union, params = self._union(
            vis, "SELECT MIN(time_us) AS t FROM {where} AND time_us >= ?", [to_us(since)]
        )
        found = self._all(f"SELECT MIN(t) FROM ({union})", params)[0][0]
        return None if found is None else from_us(found)

    def log_entries(self) -> list[LogEntry]:
        """Every entry, in the order they were written."""
        with self._lock:
            return self._log.every_entry()

    def task_log(self, task_id: str) -> list[LogEntry]:
        """The entries of one task, in the order they were written (through the log's index of
        task keys)."""
        with self._lock:
            ids = [
                row[0]
                for row in self._db.execute(
                    "SELECT id FROM log WHERE task_key = ? AND task = ? ORDER BY id",
                    (task_key(task_id), task_id),
                ).fetchall()
            ]
            return self._log.entries(ids)

    def latest_entry_time(self) -> datetime | None:
        """When the newest entry of the log was written (read through the time index)."""
        found = self._all("SELECT MAX(time_us) FROM log")[0][0]
        return None if found is None else from_us(found)

    def count_log(self) -> int:
        with self._lock:
            return self._log.tally.total("1", [])
