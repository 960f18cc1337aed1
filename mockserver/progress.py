"""Saying how a long job is going: building a world of a million tasks takes a minute."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

#: A job that ends within this many seconds says nothing.
QUIET_FOR = 1.0
#: After that, a line at most this often (and one for every new stage).
EVERY = 2.0


class Steps(Protocol):
    """What a job reports as it goes: the stage it is at, and how far into it."""

    def __call__(self, stage: str, done: int = 0, total: int = 0) -> None: ...


class Progress:
    """Reports a job's stages on the console (or a log) once it has run longer than
    :data:`QUIET_FOR`, and, when it ends, how long it took.

    :param say: where each line goes.
    :param what: what the job is; every line starts with it.
    :param monotonic: the real-time source, injectable for tests.
    """

    def __init__(
        self,
        say: Callable[[str], None],
        what: str,
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.say, self.what = say, what
        self._monotonic = monotonic
        self._started = monotonic()
        self._said_at: float | None = None
        self._stage = ""

    def __repr__(self) -> str:
        return f"Progress({self.what!r})"

    def __call__(self, stage: str, done: int = 0, total: int = 0) -> None:
        now = self._monotonic()
        if now - self._started < QUIET_FOR:
            return
        if self._said_at is not None and stage == self._stage and now - self._said_at < EVERY:
            return
        self._said_at, self._stage = now, stage
        share = f" {100 * done // total}% ({done:,} of {total:,})" if total else ""
        self.say(f"{self.what}: {stage}{share}")

    def finish(self) -> None:
        """Say how long the job took, if it said anything before."""
        if self._said_at is not None:
            self.say(f"{self.what}: done in {self._monotonic() - self._started:.1f} s")


def quiet(stage: str, done: int = 0, total: int = 0) -> None:
    """Steps nobody hears."""
