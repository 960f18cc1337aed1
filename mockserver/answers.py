"""Answers kept until the deployment changes, so that a client polling the same URL is not
answered by rendering the same page again.

A handler may say its answer can be kept (:meth:`~mockserver.dispatch.Call.keep`): until the
store is next written to, and at most until a moment of the deployment's clock after which
the answer would differ by time alone (a task that starts, a result that expires, an entry
that leaves the statistics' window). Those are the only ways an answer of the task API
changes: everything the log, the task list and a task's details show changes only through
writes, and every request settles the deployment (writing the ends of tasks) first.

An answer is kept per operation, caller, datacenter, path parameters, query string, ``Accept``
header and URL, and only after the request was checked and validated like any other.
``esdc-api serve --no-cache`` turns it off.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

Key = tuple[Any, ...]


@dataclass(frozen=True)
class Answer:
    """A response as it was sent, and what it was true for."""

    status: int
    body: bytes
    headers: tuple[tuple[bytes, bytes], ...]  # besides content-length
    dc_name: str
    writes: int  # the store's write count it was made at
    until: datetime | None  # the moment it stops being true by the clock alone


class AnswerCache:
    """The last ``size`` answers that may be kept.

    :param writes: the store's write count now.
    :param now: the deployment's clock.
    """

    def __init__(
        self, writes: Callable[[], int], now: Callable[[], datetime], size: int = 512
    ) -> None:
        self._writes = writes
        self._now = now
        self.size = size
        self._answers: OrderedDict[Key, Answer] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def __repr__(self) -> str:
        return f"AnswerCache({len(self._answers)}/{self.size}, hits={self.hits})"

    def get(self, key: Key) -> Answer | None:
        """The kept answer for ``key`` if it is still true."""
        with self._lock:
            answer = self._answers.get(key)
            if answer is not None and self._fresh(answer):
                self._answers.move_to_end(key)
                self.hits += 1
                return answer
            if answer is not None:
                del self._answers[key]
            self.misses += 1
            return None

    def put(self, key: Key, answer: Answer) -> None:
        with self._lock:
            self._answers[key] = answer
            self._answers.move_to_end(key)
            while len(self._answers) > self.size:
                self._answers.popitem(last=False)

    def writes(self) -> int:
        return self._writes()

    def _fresh(self, answer: Answer) -> bool:
        if answer.writes != self._writes():
            return False
        return answer.until is None or self._now() < answer.until
