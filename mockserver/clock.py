"""The server's clock: tasks move through their states as it runs.

:class:`ControlledClock` follows the wall clock, but can be moved forward, frozen, sped up or
slowed down; the control API and the tests drive it. It never moves backwards, so a task's
state never goes back either (except when its result expires, as on real deployments).

It shows moments between :data:`EARLIEST` and :data:`LATEST` only: far enough inside what
``datetime`` can hold that every time the server works out from the clock (a token's expiry,
a task's end, a day of history before it) can be held too. A move past the end is refused,
and a clock that runs there stops.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol

#: The first and the last moment the clock shows.
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)


def check_moment(moment: datetime) -> datetime:
    """``moment``, if the clock can show it; otherwise raise :class:`ValueError` saying why."""
    if not EARLIEST <= moment <= LATEST:
        raise ValueError(
            f"{moment.isoformat()} is outside the clock's range: it shows moments between "
            f"{EARLIEST:%Y-%m-%d} and {LATEST:%Y-%m-%d}"
        )
    return moment


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware in UTC."""
        ...


class SystemClock:
    """The wall clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def __repr__(self) -> str:
        return "SystemClock()"


class ControlledClock:
    """A clock that runs from ``start`` at ``scale`` times real speed, and can be moved.

    :param start: the time it shows now; by default the wall clock's.
    :param scale: how many seconds pass on this clock per real second; 0 freezes it.
    :param monotonic: the real-time source, injectable for tests.
    :param wall: the wall clock in seconds since the epoch, for :meth:`resume` after a
        restart (the monotonic clock starts over with the machine).
    """

    def __init__(
        self,
        start: datetime | None = None,
        *,
        scale: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._monotonic = monotonic
        self._wall = wall
        self._lock = threading.Lock()
        self._anchor_real = self._monotonic()
        self._anchor_wall = self._wall()
        self._anchor_time = start if start is not None else datetime.now(UTC)
        self._room: tuple[datetime | None, float] = (None, 0.0)
        if self._anchor_time.tzinfo is None:
            raise ValueError(f"the clock needs an aware datetime, got {start!r}")
        check_moment(self._anchor_time)
        self._scale = _check_scale(scale)
        #: Called after the clock was moved, frozen or sped up (the deployment shares it with
        #: the other processes serving the same database).
        self.on_change: Callable[[], None] | None = None
        self._watchers: list[Callable[[], None]] = []

    def watch(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call ``callback`` after every move, freeze or change of speed, until the function
        this returns is called (a request held until the clock reaches a moment waits so)."""
        self._watchers.append(callback)

        def unwatch() -> None:
            if callback in self._watchers:
                self._watchers.remove(callback)

        return unwatch

    def state(self) -> dict[str, object]:
        """What another process needs to show the same time: the anchor on the machine's
        monotonic clock (one for all its processes), the time shown then, the speed; and the
        anchor on the wall clock, for a server that starts again later (:meth:`resume`)."""
        with self._lock:
            return {
                "real": self._anchor_real,
                "time": self._anchor_time.isoformat(),
                "scale": self._scale,
                "wall": self._anchor_wall,
            }

    def restore(self, state: dict[str, object]) -> None:
        """Show what the clock whose :meth:`state` this is shows (without calling
        :attr:`on_change`)."""
        with self._lock:
            self._anchor_real = float(state["real"])  # type: ignore[arg-type]
            self._anchor_time = datetime.fromisoformat(str(state["time"]))
            self._scale = _check_scale(float(state["scale"]))  # type: ignore[arg-type]
            self._anchor_wall = float(state.get("wall", self._wall()))  # type: ignore[arg-type]

    @classmethod
    def resume(
        cls,
        state: dict[str, object],
        *,
        scale: float | None = None,
        not_before: datetime | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> ControlledClock:
        """The clock whose :meth:`state` a server kept, as it would show now had the server
        kept running: the time it showed, and as much more as its speed makes of the real
        time since (none for a frozen clock). Never before ``not_before`` (the newest moment
        the world holds), so that nothing appears from the future.

        :param scale: the speed from now on; by default the clock's own.
        """
        shown = datetime.fromisoformat(str(state["time"]))
        speed = float(state["scale"])  # type: ignore[arg-type]
        since = float(state["wall"]) if "wall" in state else None  # type: ignore[arg-type]
        if since is not None and speed:
            ran = max(0.0, wall() - since) * speed
            shown = (
                LATEST
                if ran >= (LATEST - shown).total_seconds()
                else shown + timedelta(seconds=ran)
            )
        if not_before is not None and shown < not_before:
            shown = not_before
        return cls(shown, scale=speed if scale is None else scale, monotonic=monotonic, wall=wall)

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change()
        for watcher in list(self._watchers):
            watcher()

    def now(self) -> datetime:
        with self._lock:
            return self._now_locked()

    def _now_locked(self) -> datetime:
        anchor = self._anchor_time
        room = self._room
        if room[0] is not anchor:  # seconds from the anchor to the clock's end, once per anchor
            room = self._room = (anchor, (LATEST - anchor).total_seconds())
        elapsed = (self._monotonic() - self._anchor_real) * self._scale
        if elapsed >= room[1]:
            return LATEST  # a clock that runs to its end stops there
        return anchor + timedelta(seconds=elapsed)

    def _reanchor(self, at: datetime) -> None:
        self._anchor_real = self._monotonic()
        self._anchor_wall = self._wall()
        self._anchor_time = at

    @property
    def scale(self) -> float:
        return self._scale

    @property
    def frozen(self) -> bool:
        return self._scale == 0

    def advance(self, seconds: float) -> datetime:
        """Move the clock ``seconds`` forward and return the new time."""
        if seconds < 0:
            raise ValueError(f"the clock only moves forward; got {seconds!r} seconds")
        with self._lock:
            now = self._now_locked()
            if seconds > (LATEST - now).total_seconds():
                raise ValueError(
                    f"{seconds:g} seconds from {now.isoformat()} is past the clock's end, "
                    f"{LATEST:%Y-%m-%d}"
                )
            self._reanchor(now + timedelta(seconds=seconds))
            moment = self._anchor_time
        self._changed()
        return moment

    def set(self, moment: datetime, *, allow_backwards: bool = False) -> datetime:
        """Show ``moment`` from now on (at the same speed). Moving back is refused unless
        ``allow_backwards`` (a new world starts over at an earlier moment)."""
        if moment.tzinfo is None:
            raise ValueError(f"the clock needs an aware datetime, got {moment!r}")
        check_moment(moment)
        with self._lock:
            if moment < self._now_locked() and not allow_backwards:
                raise ValueError(f"the clock only moves forward; {moment.isoformat()} is past")
            self._reanchor(moment)
        self._changed()
        return moment

    def to_real_time(self, tolerance: float) -> float:
        """Show real time from now on, at real speed, in one step (a clock that runs fast
        would otherwise pass the moment between reading it and setting it): the clock jumps
        forward to real time, or, up to ``tolerance`` seconds ahead of it, runs on at real
        speed from where it is. Further ahead, nothing changes and the seconds it is ahead are
        returned (going back would send tasks backwards); otherwise 0."""
        with self._lock:
            now, wall = self._now_locked(), datetime.fromtimestamp(self._wall(), UTC)
            ahead = (now - wall).total_seconds()
            if ahead > tolerance:
                return ahead
            self._reanchor(max(now, wall))
            self._scale = 1.0
        self._changed()
        return 0.0

    def real_seconds(self, seconds: float) -> float:
        """How long ``seconds`` on this clock take in real time (0 when it is frozen)."""
        return 0.0 if self._scale == 0 else seconds / self._scale

    def set_scale(self, scale: float) -> None:
        """Run at ``scale`` times real speed from now on; 0 freezes the clock."""
        scale = _check_scale(scale)
        with self._lock:
            self._reanchor(self._now_locked())
            self._scale = scale
        self._changed()

    def freeze(self) -> None:
        self.set_scale(0)

    def __repr__(self) -> str:
        return f"ControlledClock(now={self.now().isoformat()!r}, scale={self._scale!r})"


def _check_scale(scale: float) -> float:
    if not 0 <= scale <= 10_000:
        raise ValueError(f"the clock's scale must be between 0 and 10000, got {scale!r}")
    return float(scale)


def fixed_clock(at: datetime) -> ControlledClock:
    """A frozen clock showing ``at``, for tests and for the docs build."""
    return ControlledClock(at, scale=0)
