"""The pacer keeps under the throttle's sliding window per identity and waits out a 429."""

from __future__ import annotations

import pytest

from contract_tests.budget import Budget
from contract_tests.errors import BudgetExhausted, KeptThrottling
from contract_tests.pacing import Pacer
from esdc_api.rates import Rate


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def pacer(rate: str = "3/min", budget: float | None = None) -> tuple[Pacer, FakeTime]:
    time = FakeTime()
    return Pacer(
        Rate.parse(rate),
        Rate.parse("2/min"),
        Budget(budget, clock=time.clock),
        clock=time.clock,
        sleep=time.sleep,
    ), time


def test_a_user_sends_a_windows_worth_then_waits_for_the_oldest_to_leave_it() -> None:
    paced, time = pacer()
    for _ in range(3):
        paced.acquire("user")
    assert time.slept == []
    time.now = 10.0
    paced.acquire("user")
    assert time.slept == [50.0]


def test_each_identity_has_its_own_window() -> None:
    paced, time = pacer()
    for identity in ("user", "peer", "admin"):
        for _ in range(3):
            paced.acquire(identity)
    assert time.slept == []


def test_anonymous_requests_have_the_lower_anonymous_rate() -> None:
    paced, time = pacer()
    for _ in range(3):
        paced.acquire("anonymous")
    assert time.slept == [60.0]


def test_a_throttled_request_is_sent_again_after_retry_after() -> None:
    paced, time = pacer("100/min")
    answers = iter([429, 429, 200])
    status = paced.send(
        "user", lambda: next(answers), status=lambda s: s, retry_after=lambda s: "7"
    )
    assert status == 200
    assert time.slept == [7.0, 7.0]
    assert paced.throttled == 2


def test_a_request_still_throttled_after_every_wait_gives_up() -> None:
    paced, _ = pacer("100/min")
    with pytest.raises(KeptThrottling, match="429 after 2 waits"):
        paced.send(
            "user",
            lambda: 429,
            status=lambda s: s,
            retry_after=lambda s: "1",
            retries=2,
            give_up=True,
        )


def test_no_wait_outlasts_the_budget() -> None:
    paced, _ = pacer("100/min", budget=5)
    with pytest.raises(BudgetExhausted, match="wait 30 s for the throttle"):
        paced.send("user", lambda: 429, status=lambda s: s, retry_after=lambda s: "30")


def test_an_unpaced_pacer_never_waits() -> None:
    time = FakeTime()
    paced = Pacer(None, None, Budget(None), clock=time.clock, sleep=time.sleep)
    for _ in range(1000):
        paced.acquire("user")
    assert time.slept == []


@pytest.mark.parametrize("text", ["45", "45/fortnight", "0/min", "x/min"])
def test_a_rate_that_is_not_one_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="rate"):
        Rate.parse(text)


def test_the_first_429_sets_the_rate_to_what_went_through_in_its_window() -> None:
    time = FakeTime()
    paced = Pacer(
        None, None, Budget(None, clock=time.clock), learn=True, clock=time.clock, sleep=time.sleep
    )
    answers = iter([*[200] * 20, 429, 200])
    for _ in range(21):
        time.now += 0.05
        paced.send("user", lambda: next(answers), status=lambda s: s, retry_after=lambda s: "59")
    assert paced.user_rate == Rate(20, 60.0)
    assert "from the first 429" in paced.learned["user"]


def test_a_429_after_few_requests_of_ours_teaches_no_rate() -> None:
    time = FakeTime()
    paced = Pacer(
        None, None, Budget(None, clock=time.clock), learn=True, clock=time.clock, sleep=time.sleep
    )
    answers = iter([200, 429, 200])
    for _ in range(2):  # another client filled the window
        paced.send("user", lambda: next(answers), status=lambda s: s, retry_after=lambda s: "19")
    assert paced.user_rate is None and paced.learned == {}


def test_a_learned_rate_applies_to_every_user_and_paces_without_429s() -> None:
    time = FakeTime()
    paced = Pacer(
        None, None, Budget(None, clock=time.clock), learn=True, clock=time.clock, sleep=time.sleep
    )
    answers = iter([*[200] * 6, 429, *[200] * 8])
    for _ in range(7):
        paced.send("user", lambda: next(answers), status=lambda s: s, retry_after=lambda s: "60")
    assert paced.user_rate == Rate(6, 60.0) and paced.throttled == 1
    for _ in range(7):  # the peer is paced at the learned rate: six a minute
        paced.send("peer", lambda: next(answers), status=lambda s: s, retry_after=lambda s: "60")
    assert paced.throttled == 1 and time.slept[-1] > 50


def test_a_429_at_the_learned_pace_slows_it_by_one() -> None:
    time = FakeTime()
    paced = Pacer(
        None, None, Budget(None, clock=time.clock), learn=True, clock=time.clock, sleep=time.sleep
    )
    answers = iter([*[200] * 6, 429, 200, 429, 200])
    for _ in range(8):
        paced.send("user", lambda: next(answers), status=lambda s: s, retry_after=lambda s: "60")
    assert paced.user_rate == Rate(5, 60.0)
