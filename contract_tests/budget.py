"""The time budget of a run (``--esdc-budget``): no request starts after it has run out.

A part of it may be kept back (``reserve``) for the checks that judge the run as a whole,
which come last: until :attr:`Budget.final` is set, the budget runs out that much earlier.
"""

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
        #: seconds kept for the last part of the run
        self.reserve = 0.0
        #: whether the last part runs, which may spend the reserve
        self.final = False

    def __repr__(self) -> str:
        if self.seconds is None:
            return "Budget(unlimited)"
        return f"Budget({self.seconds:g} s, {self.remaining():.1f} s left)"

    def elapsed(self) -> float:
        return self._clock() - self._started

    def remaining(self) -> float:
        """Seconds left for what runs now (the reserve is not, until the last part)."""
        if self.seconds is None:
            return math.inf
        kept = 0.0 if self.final else self.reserve
        return max(0.0, self.seconds - kept - self.elapsed())

    @property
    def exhausted(self) -> bool:
        return self.remaining() <= 0

    def check(self, what: str, *, needs: float = 0.0) -> None:
        """Raise :class:`BudgetExhausted` unless ``needs`` more seconds fit in the budget.

        :param what: what was about to happen, for the report.
        """
        if self.seconds is not None and self.remaining() <= needs:
            raise BudgetExhausted(self.seconds, what)
