"""The request journal: the last requests to a world's ``/api/``, kept in memory.

A frontend test asks what its app sent: "the app polled status at most once a second", "the
app never called cancel twice". The pipeline notes each request as it is answered: when it
came (by the wall clock and by the world's clock), its method, path and query, who sent it,
the operation, the status and the sizes, how long the answer took, and what shaped it (a
``Prefer`` header, a fault rule). Only the last :attr:`Journal.size` requests are kept, and
nothing is formatted or filtered until the control API asks (``GET /control/requests/``).
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from fnmatch import fnmatchcase
from typing import Any

from starlette.types import Message, Scope, Send

#: How many requests a world's journal keeps by default (``--journal``).
DEFAULT_SIZE = 1000


@dataclass(slots=True)
class Entry:
    """One request, as it was answered, kept as the pipeline had it (formatted when asked).

    :param status: ``0`` when the connection was dropped instead of answered.
    :param shaped: what made the answer other than the world's own (``Prefer: code=410``, a
        fault rule's id), empty for none.
    """

    received: float  # time.time()
    at: datetime  # the world's clock
    method: str
    path: str
    query: bytes
    user: str | None
    operation: str | None
    status: int
    duration: float  # seconds
    request_bytes: str | None  # its Content-Length, as sent
    response_bytes: int
    shaped: str
    seq: int = 0

    def as_json(self) -> dict[str, Any]:
        length = self.request_bytes or ""
        return {
            "seq": self.seq,
            "received": datetime.fromtimestamp(self.received, UTC).isoformat(),
            "at": self.at.isoformat(),
            "method": self.method,
            "path": self.path,
            "query": self.query.decode("latin-1"),
            "user": self.user,
            "operation": self.operation,
            "status": self.status,
            "dropped": self.status == 0,
            "duration_ms": round(self.duration * 1000, 3),
            "request_bytes": int(length) if length.isdigit() else 0,
            "response_bytes": self.response_bytes,
            "shaped_by": self.shaped or None,
        }


@dataclass(frozen=True)
class Query:
    """Which entries to show: each field ``None`` for any.

    :param path: a glob over the path (``/api/task/*/status/``; ``*`` crosses ``/``).
    :param user: a username; ``""`` for requests without credentials that authenticated.
    :param status: a code (``410``) or a class (``4xx``).
    :param since: only entries after this ``seq``.
    :param limit: at most this many, the last ones.
    """

    path: str | None = None
    user: str | None = None
    status: str | None = None
    method: str | None = None
    operation: str | None = None
    since: int | None = None
    limit: int | None = None

    def matches(self, entry: Entry) -> bool:
        if self.since is not None and entry.seq <= self.since:
            return False
        if self.method is not None and entry.method != self.method.upper():
            return False
        if self.operation is not None and entry.operation != self.operation:
            return False
        if self.user is not None and (entry.user or "") != self.user:
            return False
        if self.status is not None and not _status_matches(self.status, entry.status):
            return False
        return self.path is None or fnmatchcase(entry.path, self.path)


def _status_matches(wanted: str, status: int) -> bool:
    if len(wanted) == 3 and wanted.endswith("xx"):
        return str(status)[:1] == wanted[0]
    return str(status) == wanted


class Journal:
    """The last ``size`` requests of one world (none kept when ``size`` is 0).

    Adding takes no lock: a deque's append and a counter's next are atomic in CPython, and the
    pipeline adds from the event loop's thread only."""

    def __init__(self, size: int = DEFAULT_SIZE) -> None:
        self.size = size
        self._entries: deque[Entry] = deque(maxlen=max(size, 1))
        self._count = itertools.count(1)
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Journal({len(self._entries)}/{self.size}, recorded={self.recorded})"

    @property
    def recorded(self) -> int:
        """How many requests were recorded since the journal was last cleared."""
        return self._entries[-1].seq if self._entries else 0

    def add(self, entry: Entry) -> None:
        entry.seq = next(self._count)
        self._entries.append(entry)

    def select(self, query: Query) -> list[Entry]:
        """The kept entries ``query`` asks for, the oldest first."""
        with self._lock:
            entries: Iterable[Entry] = list(self._entries)
        found = [entry for entry in entries if query.matches(entry)]
        return found if query.limit is None else found[-query.limit :] if query.limit else []

    def clear(self) -> int:
        """Forget every entry; return how many were kept."""
        with self._lock:
            kept = len(self._entries)
            self._entries.clear()
            self._count = itertools.count(1)
            return kept


class Note:
    """What the pipeline learns about one request while answering it, for the journal: the
    status and the size of the answer as they are sent, and who asked.

    :param at: the moment it came, on the world's clock.
    """

    __slots__ = (
        "at", "received", "started", "status", "response_bytes", "request_bytes", "user",
        "endpoint", "shaped",
    )  # fmt: skip

    def __init__(self, at: datetime) -> None:
        self.at = at
        self.received = time.time()
        self.started = time.perf_counter()
        self.status = 0
        self.response_bytes = 0
        self.request_bytes: str | None = None
        self.user: str | None = None
        self.endpoint: Any = None
        self.shaped = ""

    def watch(self, send: Send) -> Send:
        async def noted(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.status = message["status"]
            else:
                self.response_bytes += len(message.get("body", b""))
            await send(message)

        return noted

    def entry(self, scope: Scope, operation: str | None) -> Entry:
        return Entry(
            self.received,
            self.at,
            scope["method"],
            scope["path"],
            scope.get("query_string", b""),
            self.user,
            operation,
            self.status,
            time.perf_counter() - self.started,
            self.request_bytes,
            self.response_bytes,
            self.shaped,
        )
