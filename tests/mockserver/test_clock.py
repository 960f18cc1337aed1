from datetime import UTC, datetime, timedelta

import pytest

from mockserver.clock import ControlledClock, fixed_clock

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
