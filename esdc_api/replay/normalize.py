"""The values that differ from one run of the same recording to the next, and only those.

The recording's README lists them: ISO timestamps later than the world's seed (a login's
``expires``, the log rows the worker wrote), the 40-hex login ``token``, the throttle's wait
(``Expected available in N.0 seconds.`` and ``Retry-After``: 59 or 60 depending on how fast
the burst ran) and the ``Date`` header, which the replay does not compare. Each becomes a
:class:`Volatile` on both sides of a comparison; timestamps up to the seed (the seeded times,
the same offsets in every run) and everything else compare as they are.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

ISO_MOMENT = re.compile(
    r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?", re.ASCII
)
LOGIN_TOKEN = re.compile(r"[0-9a-f]{40}", re.ASCII)
#: The wait's whole seconds are volatile; its decimals (``60.0``) and its words are not.
THROTTLE_WAIT = re.compile(r"(Expected available in )(\d+)((?:\.\d+)? seconds?\.)")
#: How far apart two throttle waits may be: the wait counts from the oldest request in the
#: window, and a burst sent a little faster or slower moves it by a second.
WAIT_TOLERANCE = 1.0

TIME_AFTER_SEED = "time after the seed"
TOKEN = "login token"
WAIT = "throttle wait"


@dataclass(frozen=True)
class Volatile:
    """A value that differs between runs: it matches another of its ``kind``.

    A throttle wait also keeps the text around its number (``shape``) and the number, which
    must agree within :data:`WAIT_TOLERANCE`.
    """

    kind: str
    text: str
    shape: str = ""
    number: float = 0.0

    def matches(self, other: object) -> bool:
        if not isinstance(other, Volatile) or other.kind != self.kind:
            return False
        if self.kind != WAIT:
            return True
        return self.shape == other.shape and abs(self.number - other.number) <= WAIT_TOLERANCE

    def __str__(self) -> str:
        return self.text


class Normalizer:
    """Turns the volatile values of a JSON body or a header into :class:`Volatile` ones."""

    def __init__(self, seeded_at: datetime) -> None:
        self.seeded_at = seeded_at

    def body(self, value: Any, key: str | None = None) -> Any:
        """``value`` (a parsed JSON body) with its volatile values replaced."""
        if isinstance(value, dict):
            return {k: self.body(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [self.body(item) for item in value]
        if isinstance(value, str):
            return self.text(value, key)
        return value

    def text(self, value: str, key: str | None = None) -> str | Volatile:
        if ISO_MOMENT.fullmatch(value) and self._after_seed(value):
            return Volatile(TIME_AFTER_SEED, value)
        if key == "token" and LOGIN_TOKEN.fullmatch(value):
            return Volatile(TOKEN, value)
        wait = THROTTLE_WAIT.search(value)
        if wait:
            shape = value[: wait.start(2)] + "{N}" + value[wait.end(2) :]
            return Volatile(WAIT, value, shape, float(wait.group(2)))
        return value

    def header(self, name: str, value: str) -> str | Volatile:
        """A header's value, with ``Retry-After`` made a throttle wait."""
        if name.lower() == "retry-after":
            try:
                return Volatile(WAIT, value, "{N}", float(value))
            except ValueError:
                return value
        return value

    def _after_seed(self, text: str) -> bool:
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            return False
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment > self.seeded_at
