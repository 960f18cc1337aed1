"""What an exchange depends on when the replay cannot control the target."""

from __future__ import annotations

import dataclasses

from esdc_api.rates import Rate
from esdc_api.replay import Exchange
from esdc_api.replay.timing import dependencies, rates_of
from tests.esdc_api.replay.conftest import by_n


def burst(exchanges: list[Exchange], count: int, reset: bool) -> list[Exchange]:
    """``count`` requests of user1 a second apart, each after a throttle reset or none."""
    template = by_n(exchanges, 12)
    return [
        dataclasses.replace(template, n=i + 1, t=float(i), who="user1", throttle_reset=reset)
        for i in range(count)
    ]


def test_requests_beyond_the_rate_without_the_recorded_resets_depend_on_the_throttle(
    exchanges: list[Exchange],
) -> None:
    found = dependencies(burst(exchanges, 47, reset=True), {}, user_rate=Rate(45, 60))
    assert [n for n, reasons in found.items() if reasons] == [46, 47]
    assert found[46] == ("throttle",)


def test_a_burst_the_recording_timed_without_resets_does_not_depend_on_them(
    exchanges: list[Exchange],
) -> None:
    found = dependencies(burst(exchanges, 44, reset=False), {}, user_rate=Rate(45, 60))
    assert not any(found.values())


def test_the_recording_depends_on_workers_from_their_start_and_on_the_clock_for_stats(
    exchanges: list[Exchange],
) -> None:
    found = dependencies(exchanges, {e.n: "taskLogStats" for e in exchanges if e.n == 294})
    assert "clock" in found[294]
    assert [n for n in found if "workers" in found[n]] == list(range(537, 594))
    assert "throttle" in found[444]


def test_the_rates_come_from_the_world_in_either_format() -> None:
    assert rates_of({"throttle_rates": {"user": "10/minute", "anon": "5/minute"}}) == (
        Rate(10, 60), Rate(5, 60),
    )  # fmt: skip
    assert rates_of({"user_rate": "3/s"}) == (Rate(3, 1), Rate(30, 60))
    assert rates_of(None) == (Rate(45, 60), Rate(30, 60))
