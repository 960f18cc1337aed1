"""The plan of a run: what it will send, in which order, and what fits in the time budget.

The suite spends its budget in order of value (:data:`PARTS`): the named checks, then every
operation's examples, then schemathesis's coverage phase, then fuzzing and the stateful runs,
and last the checks that judge the run as a whole. Before anything is sent the plan is
printed: each part's requests by identity, when it ends at the throttle's rate, and how much
of it fits. The estimates are the named checks' own (``@pytest.mark.esdc_check``) and, for
schemathesis, what its phases generate per operation.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from esdc_api.rates import Rate

#: The parts of a run, in the order they run and are worth.
PARTS = ("named checks", "examples", "coverage", "fuzzing", "stateful", "whole run")
#: Seconds one request takes besides any wait (a deployment over the network).
LATENCY = 0.15
#: Requests schemathesis's coverage phase sends per parameter, and per operation besides.
COVERAGE_PER_PARAMETER = 9
COVERAGE_PER_OPERATION = 6


@dataclass
class Part:
    """One part of the plan: its tests and their requests by identity."""

    name: str
    tests: int = 0
    requests: Counter[str] = field(default_factory=Counter)
    #: seconds from the run's start at which the part ends, as planned
    ends: float = 0.0
    #: the share of its requests that fits in the budget (1 all, 0 none)
    fits: float = 1.0

    @property
    def total(self) -> int:
        return sum(self.requests.values())


def window_time(requests: int, rate: Rate | None) -> float:
    """Seconds until ``requests`` are sent under a sliding window of ``rate``, starting empty."""
    if rate is None or requests <= rate.requests:
        return 0.0
    return math.floor((requests - 1) / rate.requests) * rate.period


def time_for(requests: Mapping[str, int], rates: Mapping[str, Rate | None]) -> float:
    """Seconds to send ``requests`` (by identity), each identity at its rate, one at a time."""
    waits = max(
        (window_time(n, rates.get(identity)) for identity, n in requests.items()), default=0
    )
    return waits + LATENCY * sum(requests.values())


class Plan:
    """The parts of a run and how they fit in ``budget`` seconds at ``rates``.

    :param rates: the pace of each identity (``None`` unpaced).
    """

    def __init__(
        self,
        parts: Iterable[Part],
        rates: Mapping[str, Rate | None],
        budget: float | None,
        *,
        last: str = "whole run",
    ) -> None:
        self.parts = {part.name: part for part in parts}
        self.rates = dict(rates)
        self.budget = budget
        self.last = last
        #: seconds kept back for the last part, which judges the whole run
        self.reserve = 0.0
        self._fit()

    def __repr__(self) -> str:
        return f"Plan({self.total} requests, budget {self.budget})"

    @property
    def total(self) -> int:
        return sum(part.total for part in self.parts.values())

    def planned(self) -> int:
        """Requests that fit in the budget."""
        return round(sum(part.total * part.fits for part in self.parts.values()))

    def _fit(self) -> None:
        final = self.parts.get(self.last)
        if final is not None and final.total and self.budget is not None:
            self.reserve = time_for(final.requests, self.rates)
            if any(self.rates.get(identity) is not None for identity in final.requests):
                self.reserve += 30.0  # a window may be full when the last part starts
            self.reserve = min(self.reserve, self.budget / 4)
        budget = None if self.budget is None else self.budget - self.reserve
        so_far: Counter[str] = Counter()
        for part in self.parts.values():
            if part is final:
                part.fits, part.ends = 1.0, time_for(so_far, self.rates) + self.reserve
                continue
            before = time_for(so_far, self.rates)
            whole = so_far + part.requests
            part.ends = time_for(whole, self.rates)
            if budget is None or part.ends <= budget:
                part.fits = 1.0
                so_far = whole
                continue
            if before >= budget:
                part.fits = 0.0
                part.ends = before
                continue
            low, high = 0.0, 1.0
            for _ in range(20):
                middle = (low + high) / 2
                share = Counter({k: math.floor(v * middle) for k, v in part.requests.items()})
                if time_for(so_far + share, self.rates) <= budget:
                    low = middle
                else:
                    high = middle
            part.fits = low
            part.ends = budget
            so_far += Counter({k: math.floor(v * low) for k, v in part.requests.items()})

    def lines(self, started: datetime) -> list[str]:
        """The plan as printed before the run sends anything."""
        pace = ", ".join(
            f"{identity} {rate.requests}/{rate.period:g} s" if rate else f"{identity} unpaced"
            for identity, rate in self.rates.items()
        )
        budget = f"{self.budget:g} s" if self.budget is not None else "none"
        out = [f"plan: budget {budget}; pace {pace}"]
        for number, part in enumerate(self.parts.values(), 1):
            if not part.tests:
                continue
            by_identity = ", ".join(f"{n} {identity}" for identity, n in part.requests.items() if n)
            if part.fits >= 1:
                fits = f"fits, done by {_clock(started, part.ends)}"
            elif part.fits > 0:
                fits = f"about {part.fits:.0%} fits, by {_clock(started, part.ends)}"
            else:
                fits = "does not fit: not tested"
            out.append(
                f"  {number}. {part.name:<13} {part.tests:>3} tests, ~{part.total:>4} requests "
                f"({by_identity or 'none'}): {fits}"
            )
        ends = max((p.ends for p in self.parts.values() if p.tests), default=0.0)
        out.append(
            f"  ~{self.planned()} of ~{self.total} requests fit; the run ends by "
            f"{_clock(started, ends)}"
            + (f" (the budget ends {_clock(started, self.budget)})" if self.budget else "")
        )
        return out


def _clock(started: datetime, seconds: float) -> str:
    return (started + timedelta(seconds=seconds)).strftime("%H:%M:%S")
