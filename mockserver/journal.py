"""The request journal: the last requests to a world's ``/api/``, kept in memory.

A frontend test asks what its app sent: "the app polled status at most once a second", "the
app never called cancel twice". The pipeline notes each request as it is answered: when it
came (by the wall clock and by the world's clock), its method, path and query, who sent it,
the operation, the status and the sizes, how long the answer took, and what shaped it (a
``Prefer`` header, a fault rule). Only the last :attr:`Journal.size` requests are kept, and
nothing is formatted or filtered until the control API asks (``GET /control/requests/``).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from fnmatch import fnmatchcase
from typing import Any

from starlette.types import Message, Send

#: How many requests a world's journal keeps by default (``--journal``).
DEFAULT_SIZE = 1000


@dataclass(slots=True)
class Entry:
    """One request, as it was answered.

    :param status: ``0`` when the connection was dropped instead of answered.
    :param shaped: what made the answer other than the world's own (``Prefer: code=410``, a
        fault rule's id), empty for none.
    """

    seq: int
    received: float  # time.time()
    at: datetime  # the world's clock
    method: str
    path: str
    query: str
    user: str | None
    operation: str | None
    status: int
    duration: float  # seconds
    request_bytes: int
    response_bytes: int
    shaped: str

    def as_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "received": datetime.fromtimestamp(self.received, UTC).isoformat(),
            "at": self.at.isoformat(),
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "user": self.user,
            "operation": self.operation,
            "status": self.status,
            "dropped": self.status == 0,
            "duration_ms": round(self.duration * 1000, 3),
            "request_bytes": self.request_bytes,
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
    """The last ``size`` requests of one world (none kept when ``size`` is 0)."""

    def __init__(self, size: int = DEFAULT_SIZE) -> None:
        self.size = size
        self._entries: deque[Entry] = deque(maxlen=max(size, 1))
        self._seq = 0
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Journal({len(self._entries)}/{self.size}, recorded={self._seq})"

    @property
    def recorded(self) -> int:
        """How many requests were recorded since the journal was last cleared."""
        return self._seq

    def add(
        self,
        *,
        received: float,
        at: datetime,
        method: str,
        path: str,
        query: str,
        user: str | None,
        operation: str | None,
        status: int,
        duration: float,
        request_bytes: int,
        response_bytes: int,
        shaped: str = "",
    ) -> None:
        with self._lock:
            self._seq += 1
            self._entries.append(
                Entry(
                    self._seq,
                    received,
                    at,
                    method,
                    path,
                    query,
                    user,
                    operation,
                    status,
                    duration,
                    request_bytes,
                    response_bytes,
                    shaped,
                )
            )

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
            self._seq = 0
            return kept


class Note:
    """What the pipeline learns about one request while answering it, for the journal: the
    status and the size of the answer as they are sent, and who asked."""

    __slots__ = ("started", "status", "response_bytes", "user", "endpoint", "shaped")

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.status = 0
        self.response_bytes = 0
        self.user: str | None = None
        self.endpoint: Any = None
        self.shaped = ""

    def watch(self, send: Send) -> Send:
        async def noted(message: Message) -> None:
            kind = message["type"]
            if kind == "http.response.start":
                self.status = message["status"]
            elif kind == "http.response.body":
                self.response_bytes += len(message.get("body", b""))
            await send(message)

        return noted
