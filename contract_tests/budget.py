"""The time budget of a run (``--esdc-budget``): no request starts after it has run out."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from contract_tests.errors import BudgetExhausted


class Budget:
    """A deadline counted from when the budget is created.

    :param seconds: the budget, or ``None`` for no limit.
    :param clock: a monotonic clock, injectable for tests.
    """

    def __init__(
        self, seconds: float | None, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.seconds = seconds
        self._clock = clock
        self._started = clock()

    def __repr__(self) -> str:
        if self.seconds is None:
            return "Budget(unlimited)"
        return f"Budget({self.seconds:g} s, {self.remaining():.1f} s left)"

    def elapsed(self) -> float:
        return self._clock() - self._started

    def remaining(self) -> float:
        if self.seconds is None:
            return math.inf
        return max(0.0, self.seconds - self.elapsed())

    @property
    def exhausted(self) -> bool:
        return self.remaining() <= 0

    def check(self, what: str, *, needs: float = 0.0) -> None:
        """Raise :class:`BudgetExhausted` unless ``needs`` more seconds fit in the budget.

        :param what: what was about to happen, for the report.
        """
        if self.seconds is not None and self.remaining() <= needs:
            raise BudgetExhausted(self.seconds, what)
