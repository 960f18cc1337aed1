"""The throttle's answers, on a clock the test moves (``Throttle(clock=...)``); cited by the
recorded exchange ``n`` of ``../shared/reference/real-4.6/transcript.jsonl``."""

from __future__ import annotations

import pytest

from esdc_api.rates import Rate
from mockserver.errors import Throttled
from mockserver.throttle import Throttle


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def over_the_rate(throttle: Throttle, key: str) -> Throttled:
    with pytest.raises(Throttled) as caught:
        throttle.hit(key)
    return caught.value


def test_the_wait_is_written_as_python_2_writes_a_ceiled_float() -> None:
    """n=444, 526 (F9): "60.0 seconds.", and the singular "1.0 second." for one."""
    clock = Clock()
    throttle = Throttle(Rate.parse("2/min"), clock=clock)
    throttle.hit("user:4")
    throttle.hit("user:4")
    full = over_the_rate(throttle, "user:4")
    clock.now = 59.5
    almost = over_the_rate(throttle, "user:4")
    assert (full.body(), full.headers()) == (
        {"detail": "Request was throttled. Expected available in 60.0 seconds."},
        {"Retry-After": "60"},
    )
    assert (almost.body(), almost.headers()) == (
        {"detail": "Request was throttled. Expected available in 1.0 second."},
        {"Retry-After": "1"},
    )
    clock.now = 61  # n=527: the window moved
    throttle.hit("user:4")
