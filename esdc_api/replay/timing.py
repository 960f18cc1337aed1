"""Which exchanges depend on what a replay controls only through the control API.

Against a reference server the replay sets the clock to each exchange's moment, clears the
throttle where the recording did and starts the worker when the recording did. A target
without a control API (a real deployment) gets none of that: the requests are sent at their
recorded pace, and then these exchanges cannot be judged as strictly:

- ``throttle``: the recording cleared the throttle's history before most exchanges. Without
  that, a caller's earlier requests inside the window count; an exchange depends on it when
  they reach the limit, or when its answer was timed against a history that now differs.
- ``workers``: from the first action the recording took between exchanges (``setup_before``:
  starting the worker, publishing a message) on, the deployment's task states depend on
  having done it at that moment.
- ``clock``: the task log's statistics count the entries of a window that ends now.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from esdc_api.rates import ANONYMOUS_RATE, USER_RATE, Rate
from esdc_api.replay.transcript import Exchange

THROTTLE = "throttle"
WORKERS = "workers"
CLOCK = "clock"
ANONYMOUS = "anonymous"


def rates_of(settings: Mapping[str, Any] | None) -> tuple[Rate, Rate]:
    """The user and anonymous rates a world's settings give (an export's or ours)."""
    settings = settings or {}
    exported = settings.get("throttle_rates") or {}
    user = settings.get("user_rate") or exported.get("user")
    anon = settings.get("anon_rate") or exported.get("anon")
    return (
        Rate.parse(user) if isinstance(user, str) else USER_RATE,
        Rate.parse(anon) if isinstance(anon, str) else ANONYMOUS_RATE,
    )


def dependencies(
    exchanges: Sequence[Exchange], operation_ids: Mapping[int, str | None],
    user_rate: Rate = USER_RATE, anonymous_rate: Rate = ANONYMOUS_RATE,
) -> dict[int, tuple[str, ...]]:  # fmt: skip
    """For each exchange ``n``, what it depends on beyond its request (empty when nothing)."""
    found: dict[int, tuple[str, ...]] = {}
    since_reset: dict[str, list[float]] = {}
    all_times: dict[str, list[float]] = {}
    setup_seen = False
    for exchange in exchanges:
        caller = exchange.who or ANONYMOUS
        rate = anonymous_rate if caller == ANONYMOUS else user_rate
        if exchange.throttle_reset:
            since_reset.clear()
        recorded = _inside(since_reset.get(caller, []), exchange.t, rate)
        replayed = _inside(all_times.get(caller, []), exchange.t, rate)
        reasons = []
        if replayed >= rate.requests or (not exchange.throttle_reset and replayed != recorded):
            reasons.append(THROTTLE)
        setup_seen = setup_seen or bool(exchange.setup_before)
        if setup_seen or exchange.worker:
            reasons.append(WORKERS)
        if operation_ids.get(exchange.n) == "taskLogStats":
            reasons.append(CLOCK)
        found[exchange.n] = tuple(reasons)
        since_reset.setdefault(caller, []).append(exchange.t)
        all_times.setdefault(caller, []).append(exchange.t)
    return found


def _inside(times: list[float], now: float, rate: Rate) -> int:
    return sum(1 for t in times if now - t < rate.period)
