"""Counts of task log entries per time bucket, kept beside the log so that counting and
finding the n-th entry cost the number of buckets, not the number of entries.

Every entry adds 1 to a counter per level: all time, its day, its quarter of the day, its hour,
its ten minutes, its minute and its ten seconds (UTC, in microseconds since the epoch, as
:mod:`mockserver.store` keeps times). Each level splits the one above into at most 10 buckets
but the first, so that finding a bucket reads few counters at any level. A counter is
kept per *key*, the columns the task log is filtered by (datacenter, owner, task type, status,
object type and object), so any filter on those columns is a ``WHERE`` on the counters too.

- **Counting** the entries of a time window splits it as a segment tree does: whole days,
  then the whole smaller buckets at its edges, then the few entries of the partial ten seconds
  at the very edges, which are counted in the log itself through its time index (a minute
  would be thousands of entries with ten million a day; ten seconds are a sixth of those).
- **Seeking** the n-th entry of a window (a page's first entry) walks the same pieces in time
  order, summing counters until the piece holding it is found, then descends into it: the day,
  then its hour, its minute and its ten seconds, whose seconds are counted in the log and the
  entries of the one second that holds it read.

The log is append-only, so counters only grow; an entry written late with a past time (a
task's end, stamped when it ended) lands in the buckets of its time like any other.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any, NamedTuple

SECOND = 1_000_000
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE
DAY = 24 * HOUR
#: Bucket widths of levels 1 to 6; level 0 is one bucket for all time.
WIDTHS = (DAY, 6 * HOUR, HOUR, 10 * MINUTE, MINUTE, 10 * SECOND)
#: The finest buckets' width: what the log is counted by first, the coarser levels from those.
FINEST = WIDTHS[-1]
#: Names the levels, so that a database counted another way is counted again.
LAYOUT = (
    "log_count levels " + ",".join(str(w // 1_000_000) for w in WIDTHS) + " by object id; tally"
)
#: Bounds of an unbounded window, whole days either side of any time the log can hold.
EARLIEST, LATEST = -(2**62 // DAY) * DAY, (2**62 // DAY) * DAY
#: The columns of a counter's key; the log has the same ones, under the same names.
KEY_COLUMNS = ("dc_id", "owner_id", "task_type", "status", "object_type", "object")
#: The key of the *tally*, counters of what the unfiltered views and the statistics read (who
#: sees an entry, and its status): a few keys per bucket where the full key has hundreds, so
#: that a count costs the same with ten thousand entries a day as with ten million.
TALLY_COLUMNS = ("dc_id", "owner_id", "unbound", "status")
_TYPES = {"object_type": "TEXT"}


def schema(table: str, columns: Sequence[str]) -> str:
    keys = "".join(f"{c} {_TYPES.get(c, 'INTEGER')} NOT NULL, " for c in columns)
    return (
        f"CREATE TABLE IF NOT EXISTS {table} (level INTEGER NOT NULL, "
        f"bucket INTEGER NOT NULL, {keys}n INTEGER NOT NULL, "
        f"PRIMARY KEY (level, bucket, {', '.join(columns)})) WITHOUT ROWID;"
    )


Key = tuple[Any, ...]
#: The ``(time_us, id)`` of the entry at an index (from 0, in the seek's order) of the log's
#: entries in ``[lo, hi)`` that match the filter, or how many there are if fewer.
ExactNth = Callable[[int, int, int], tuple[int, int] | int]
#: A count of the log's entries in ``[lo, hi)`` that match the filter, per value of a column,
#: as SQL to run with the counters' own sums: a ``SELECT`` (or a ``UNION ALL`` of them) of
#: ``(v, n)`` rows, and its parameters.
ExactCount = Callable[[int, int], tuple[str, list[Any]]]


class Buckets(NamedTuple):
    """Whole buckets ``first`` to ``last - 1`` of one level."""

    level: int
    first: int
    last: int

    @property
    def width(self) -> int:
        return WIDTHS[self.level - 1]


class Exact(NamedTuple):
    """A stretch shorter than the finest bucket, read from the log itself: ``[lo, hi)``."""

    lo: int
    hi: int


def pieces(lo: int, hi: int, level: int = 1) -> list[Buckets | Exact]:
    """``[lo, hi)`` as whole buckets of the coarsest levels that fit, in time order.

    The coarsest level from ``level`` on that holds a whole bucket gives the middle piece;
    each finer level adds at most one piece either side of it (each width divides the one
    above, so every edge found is an edge of the finer levels' buckets too), and what is
    left at the very edges is exact."""
    if lo >= hi:
        return []
    finest = len(WIDTHS)
    for middle_level in range(level, finest + 1):
        width = WIDTHS[middle_level - 1]
        first, last = -(-lo // width), hi // width
        if first < last:
            break
    else:
        return [Exact(lo, hi)]
    before: list[Buckets | Exact] = []
    after: list[Buckets | Exact] = [Buckets(middle_level, first, last)]
    left, right = first * width, last * width
    for finer in range(middle_level + 1, finest + 1):
        width = WIDTHS[finer - 1]
        start, end = -(-lo // width), left // width
        if start < end:
            before.append(Buckets(finer, start, end))
            left = start * width
        start, end = right // width, hi // width
        if start < end:
            after.append(Buckets(finer, start, end))
            right = end * width
    if lo < left:
        before.append(Exact(lo, left))
    if right < hi:
        after.append(Exact(right, hi))
    before.reverse()
    return before + after


def _floor(value: str, width: int) -> str:
    """SQL for ``value // width`` (SQLite's ``/`` truncates towards zero)."""
    return f"(({value}) - ((({value}) % {width}) + {width}) % {width}) / {width}"


def counters(rows: Iterable[tuple[int, Key]]) -> Counter[Key]:
    """The counter increments of log entries given as ``(time_us, key)``: one per level."""
    finest = Counter((time_us // FINEST, key) for time_us, key in rows)
    found: Counter[Key] = Counter()
    for (bucket, key), n in finest.items():
        start = bucket * FINEST
        found[(0, 0, *key)] += n
        for level, width in enumerate(WIDTHS, 1):
            found[(level, start // width, *key)] += n
    return found


class LogCounts:
    """The counters in ``table`` of the store's database, by ``columns`` (the store holds the
    lock and transactions)."""

    def __init__(
        self, db: sqlite3.Connection, table: str = "log_count", columns: Sequence[str] = KEY_COLUMNS
    ) -> None:
        self._db = db
        self.table = table
        self.columns = tuple(columns)
        db.executescript(schema(table, columns))

    def add(self, rows: Iterable[tuple[int, Key]]) -> None:
        """Count log entries, given as ``(time_us, key)`` with the key in :attr:`columns`
        order."""
        self._db.executemany(
            f"INSERT INTO {self.table} VALUES ({', '.join('?' * (len(self.columns) + 3))}) "
            "ON CONFLICT DO UPDATE SET n = n + excluded.n",
            [(*key, n) for key, n in counters(rows).items()],
        )

    def clear(self) -> None:
        self._db.execute(f"DELETE FROM {self.table}")

    def add_finest(self, counted: Iterable[tuple[Any, ...]]) -> None:
        """Add rows ``(bucket, *key, n)`` to the finest level, of :data:`FINEST` buckets (for
        :meth:`derive_levels`); a bucket and key may come more than once. Taken as they come:
        the rows of ten million entries are not held at once."""
        columns = ", ".join(self.columns)
        marks = ", ".join("?" * (len(self.columns) + 2))
        self._db.executemany(
            f"INSERT INTO {self.table} (level, bucket, {columns}, n) VALUES ({len(WIDTHS)}, "
            f"{marks}) ON CONFLICT DO UPDATE SET n = n + excluded.n",
            counted,
        )

    def add_finest_of(self, other: LogCounts, exprs: Sequence[str]) -> None:
        """Count ``other``'s finest level into this one's, empty: ``exprs`` are this key's
        columns as expressions on ``other``'s."""
        keys = ", ".join(exprs)
        self._db.execute(
            f"INSERT INTO {self.table} (level, bucket, {', '.join(self.columns)}, n) "
            f"SELECT level, bucket, {keys}, SUM(n) FROM {other.table} WHERE level = "
            f"{len(WIDTHS)} GROUP BY bucket, {keys}"
        )

    def count_log(self, exprs: Sequence[str]) -> None:
        """Count every entry of the log into empty counters, in SQL: ``exprs`` are the key's
        columns as expressions on the log's."""
        keys = ", ".join(exprs)
        self._db.execute(
            f"INSERT INTO {self.table} (level, bucket, {', '.join(self.columns)}, n) "
            f"SELECT {len(WIDTHS)}, {_floor('time_us', FINEST)} AS b, {keys}, COUNT(*) "
            f"FROM log GROUP BY b, {keys}"
        )
        self.derive_levels()

    def derive_levels(self) -> None:
        """Fill the levels above the finest from the finest, into empty levels."""
        columns = ", ".join(self.columns)
        for level in range(len(WIDTHS) - 1, -1, -1):
            width = WIDTHS[level - 1] if level else None
            bucket = "0" if width is None else _floor(f"bucket * {WIDTHS[level]}", width)
            self._db.execute(
                f"INSERT INTO {self.table} (level, bucket, {columns}, n) "
                f"SELECT {level}, {bucket} AS b, {columns}, SUM(n) FROM {self.table} "
                f"WHERE level = {level + 1} GROUP BY b, {columns}"
            )

    def total(self, where: str, params: Sequence[Any]) -> int:
        """Entries of all time whose key matches ``where``."""
        return sum(self._sums([Buckets(0, 0, 1)], where, params, None).values())

    def count(
        self,
        where: str,
        params: Sequence[Any],
        lo: int,
        hi: int,
        exact: ExactCount,
        *,
        by: str | None = None,
    ) -> Counter[Any]:
        """Entries in ``[lo, hi)`` whose key matches ``where``, per value of the key column
        ``by`` (or all under ``None``). ``exact`` counts them in the log the same way; its SQL
        runs in the same query as the counters' (one query, whatever the window)."""
        whole = [Buckets(0, 0, 1)] if (lo, hi) == (EARLIEST, LATEST) else pieces(lo, hi)
        return Counter(
            self._sums(
                [p for p in whole if isinstance(p, Buckets)],
                where,
                params,
                by,
                [exact(p.lo, p.hi) for p in whole if isinstance(p, Exact)],
            )
        )

    def seek(
        self,
        where: str,
        params: Sequence[Any],
        lo: int,
        hi: int,
        index: int,
        *,
        newest_first: bool,
        nth: ExactNth,
        level: int = 1,
    ) -> tuple[int, int] | None:
        """The ``(time_us, id)`` of the entry at ``index`` (from 0) of ``[lo, hi)`` in the
        given order, among those whose key matches ``where``; ``None`` past the end.

        :param level: the coarsest level to split the window into (a bucket is searched
            through the buckets of the next level)."""
        ordered = pieces(lo, hi, level)
        for piece in reversed(ordered) if newest_first else ordered:
            if isinstance(piece, Exact):
                found = nth(piece.lo, piece.hi, index)
                if not isinstance(found, int):
                    return found
                index -= found
                continue
            for bucket, n in self._per_bucket(piece, where, params, newest_first):
                if index < n:
                    start = bucket * piece.width
                    return self.seek(
                        where,
                        params,
                        start,
                        start + piece.width,
                        index,
                        newest_first=newest_first,
                        nth=nth,
                        level=piece.level + 1,
                    )
                index -= n
        return None

    def _sums(
        self,
        whole: list[Buckets],
        where: str,
        params: Sequence[Any],
        by: str | None,
        exact: Sequence[tuple[str, list[Any]]] = (),
    ) -> dict[Any, int]:
        """The counters of all these buckets, and the ``exact`` counts, summed in one query."""
        if not whole and not exact:
            return {}
        if by is not None and by not in self.columns:
            raise ValueError(f"counters are kept per {self.columns}, not per {by!r}")
        group = "NULL" if by is None else by
        # One range of the primary key per piece: SQLite's OR of ranges costs twice as much.
        part = f"SELECT {group} AS v, n FROM {self.table} WHERE level = ? AND bucket >= ? "
        part += f"AND bucket < ? AND {where}"
        values = [v for p in whole for v in (p.level, p.first, p.last, *params)]
        if len(whole) == 1 and not exact:
            # One range: summed where it is read (a subquery to group costs a sort more).
            sql = part.replace(" n FROM", " SUM(n) FROM", 1)
            if by is not None:
                sql += " GROUP BY v"
        else:
            parts = [part] * len(whole) + [sql for sql, _ in exact]
            for _, exact_params in exact:
                values += exact_params
            sql = f"SELECT v, SUM(n) FROM ({' UNION ALL '.join(parts)}) GROUP BY v"
        rows = self._db.execute(sql, values).fetchall()
        return {value: int(n) for value, n in rows if n}

    def _per_bucket(
        self, piece: Buckets, where: str, params: Sequence[Any], newest_first: bool
    ) -> list[tuple[int, int]]:
        direction = "DESC" if newest_first else "ASC"
        rows: list[tuple[int, int]] = self._db.execute(
            f"SELECT bucket, SUM(n) FROM {self.table} WHERE level = ? AND bucket >= ? "
            f"AND bucket < ? AND {where} GROUP BY bucket ORDER BY bucket {direction}",
            (piece.level, piece.first, piece.last, *params),
        ).fetchall()
        return rows
