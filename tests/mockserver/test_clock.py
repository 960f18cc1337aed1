from datetime import UTC, datetime, timedelta

import pytest

from mockserver.clock import LATEST, ControlledClock, fixed_clock

T0 = datetime(2026, 1, 1, tzinfo=UTC)


class FakeMonotonic:
    def __init__(self) -> None:
        self.value = 100.0

    def __call__(self) -> float:
        return self.value


def test_clock_runs_at_its_scale_of_real_time() -> None:
    real = FakeMonotonic()
    clock = ControlledClock(T0, scale=60, monotonic=real)
    real.value += 2
    assert clock.now() == T0 + timedelta(minutes=2)


def test_frozen_clock_stands_still_until_advanced() -> None:
    real = FakeMonotonic()
    clock = fixed_clock(T0)
    clock._monotonic = real  # type: ignore[attr-defined]
    real.value += 1000
    assert clock.now() == T0
    assert clock.advance(30) == T0 + timedelta(seconds=30)
    assert clock.now() == T0 + timedelta(seconds=30)


def test_changing_the_scale_keeps_the_time_reached() -> None:
    real = FakeMonotonic()
    clock = ControlledClock(T0, scale=1, monotonic=real)
    real.value += 10
    clock.set_scale(0)
    real.value += 10
    assert clock.now() == T0 + timedelta(seconds=10)
    clock.set_scale(2)
    real.value += 10
    assert clock.now() == T0 + timedelta(seconds=30)


def test_clock_refuses_to_go_backwards_or_run_absurdly_fast() -> None:
    clock = fixed_clock(T0)
    with pytest.raises(ValueError, match="only moves forward"):
        clock.advance(-1)
    with pytest.raises(ValueError, match="between 0 and 10000"):
        clock.set_scale(10_001)
    with pytest.raises(ValueError, match="aware"):
        ControlledClock(datetime(2026, 1, 1))


def test_the_clock_is_refused_a_start_outside_its_range() -> None:
    """Issue 12 L4: ``--at 9999-12-31T23:59:00`` failed with a raw OverflowError."""
    with pytest.raises(ValueError, match="between 1900-01-01 and 9000-01-01"):
        ControlledClock(datetime(9999, 12, 31, 23, 59, tzinfo=UTC))
    with pytest.raises(ValueError, match="between 1900-01-01 and 9000-01-01"):
        ControlledClock(datetime(1, 1, 2, tzinfo=UTC))


def test_the_clock_is_refused_a_move_past_its_end_and_keeps_its_time() -> None:
    """Issue 12 L4: advancing 10 years at a time reached year 9991, then every answer was a
    500 until a restart."""
    clock = fixed_clock(datetime(8999, 1, 1, tzinfo=UTC))
    with pytest.raises(ValueError, match="9000-01-01"):
        clock.advance(315_360_000)
    with pytest.raises(ValueError, match="9000-01-01"):
        clock.set(datetime(9999, 12, 31, tzinfo=UTC))
    assert clock.now() == datetime(8999, 1, 1, tzinfo=UTC)
    assert clock.advance(86_400) == datetime(8999, 1, 2, tzinfo=UTC)


def test_a_running_clock_stops_at_its_end() -> None:
    real = FakeMonotonic()
    clock = ControlledClock(datetime(8999, 12, 31, tzinfo=UTC), scale=10_000, monotonic=real)
    real.value += 10**9  # 300 years of real time: ten million years at this speed
    assert clock.now() == LATEST
    clock.freeze()
    assert clock.now() == LATEST


class FakeWall(FakeMonotonic):
    pass


def test_a_resumed_clock_goes_on_as_if_the_server_had_kept_running() -> None:
    """Issue 12 M4: a server restarted on its database file showed today again."""
    real, wall = FakeMonotonic(), FakeWall()
    clock = ControlledClock(T0, scale=60, monotonic=real, wall=wall)
    real.value += 10
    wall.value += 10
    clock.advance(86_400)
    state = clock.state()
    later = FakeWall()
    later.value = wall.value + 30  # restarted 30 s later, on another monotonic clock
    resumed = ControlledClock.resume(state, monotonic=FakeMonotonic(), wall=later)
    assert resumed.now() == T0 + timedelta(days=1, minutes=10 + 30)
    assert resumed.scale == 60


def test_a_resumed_frozen_clock_shows_the_same_moment_and_never_one_before_the_world() -> None:
    clock = fixed_clock(T0)
    wall = FakeWall()
    wall.value += 10**6
    assert ControlledClock.resume(clock.state(), wall=wall).now() == T0
    newest = T0 + timedelta(hours=1)
    assert ControlledClock.resume(clock.state(), not_before=newest).now() == newest
    assert ControlledClock.resume(clock.state(), scale=5).scale == 5


class Ticking:
    """A monotonic clock that moves on by ``step`` seconds each time it is read: a clock at a
    high scale then passes any moment read from it before it can be set to it."""

    def __init__(self, step: float) -> None:
        self.seconds, self.step = 0.0, step

    def __call__(self) -> float:
        self.seconds += self.step
        return self.seconds


def test_real_time_is_reached_in_one_step_by_a_clock_that_runs_fast() -> None:
    """A clock at scale 10,000 just behind real time: read, then set to real time, it had
    passed that moment in between ("the clock only moves forward", a 500 schemathesis found
    on POST /control/clock/real-time/)."""
    wall = 1_800_000_000.0
    start = datetime.fromtimestamp(wall, UTC) - timedelta(seconds=0.5)
    clock = ControlledClock(start, scale=10_000, monotonic=Ticking(0.00001), wall=lambda: wall)
    assert clock.to_real_time(tolerance=1.0) == 0.0
    assert clock.scale == 1.0 and not clock.frozen
    assert clock.now() >= start


def test_real_time_is_refused_to_a_clock_ahead_of_it_and_the_clock_is_left_alone() -> None:
    wall = 1_800_000_000.0
    start = datetime.fromtimestamp(wall, UTC) + timedelta(hours=1)
    clock = ControlledClock(start, scale=0, wall=lambda: wall)
    assert clock.to_real_time(tolerance=1.0) == 3600.0
    assert (clock.now(), clock.scale) == (start, 0.0)
