"""Pacing requests under the deployment's throttle, and waiting out a 429.

Danube Cloud throttles with Django REST framework's sliding window: 45 requests a minute per
authenticated user and 30 per anonymous IP address (the spec's ``Throttled`` response says
so). :class:`Pacer` keeps the same window on the client side, one per identity, so a paced run
never trips the throttle; if it is tripped anyway (a smaller limit, another client sharing the
user), the answer's ``Retry-After`` is honoured and the request is sent again.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from typing import TypeVar

from contract_tests.budget import Budget
from esdc_api.rates import Rate

T = TypeVar("T")

ANONYMOUS = "anonymous"
#: How often a throttled request is sent again before its 429 is passed on.
MAX_RETRIES = 4
#: The wait when a 429 has no usable Retry-After (the length of the throttle's window).
DEFAULT_RETRY_AFTER = 60.0


def retry_after_seconds(value: str | None) -> float:
    try:
        return max(0.0, float(value)) if value is not None else DEFAULT_RETRY_AFTER
    except ValueError:
        return DEFAULT_RETRY_AFTER


class Pacer:
    """Sends requests no faster than the throttle allows, per identity.

    :param user_rate: the rate of each authenticated identity, or ``None`` not to pace.
    :param anonymous_rate: the rate of requests without credentials, or ``None``.
    :param budget: no wait may outlast it.
    """

    def __init__(
        self,
        user_rate: Rate | None,
        anonymous_rate: Rate | None,
        budget: Budget,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.user_rate = user_rate
        self.anonymous_rate = anonymous_rate
        self.budget = budget
        self._clock = clock
        self._sleep = sleep
        self._sent: defaultdict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()
        self.waited = 0.0
        self.throttled = 0

    def __repr__(self) -> str:
        return f"Pacer(user={self.user_rate}, anonymous={self.anonymous_rate})"

    @property
    def paces(self) -> bool:
        return self.user_rate is not None

    def _rate(self, identity: str) -> Rate | None:
        return self.anonymous_rate if identity == ANONYMOUS else self.user_rate

    def _wait(self, seconds: float, what: str) -> None:
        if seconds <= 0:
            return
        self.budget.check(f"{what} (after {seconds:.0f} s waiting for the throttle)", needs=seconds)
        self.waited += seconds
        self._sleep(seconds)

    def acquire(self, identity: str, what: str = "the next request") -> None:
        """Wait until ``identity`` may send another request, then count it."""
        rate = self._rate(identity)
        if rate is None:
            return
        while True:
            with self._lock:
                now = self._clock()
                sent = self._sent[identity]
                while sent and sent[0] <= now - rate.period:
                    sent.popleft()
                if len(sent) < rate.requests:
                    sent.append(now)
                    return
                wait = sent[0] + rate.period - now
            self._wait(wait, what)

    def send(
        self,
        identity: str,
        request: Callable[[], T],
        *,
        status: Callable[[T], int],
        retry_after: Callable[[T], str | None],
        what: str = "the next request",
    ) -> T:
        """Send ``request`` as ``identity``, waiting for a slot, and again after a 429."""
        for _ in range(MAX_RETRIES):
            self.budget.check(what)
            self.acquire(identity, what)
            response = request()
            if status(response) != 429:
                return response
            self.throttled += 1
            self._wait(retry_after_seconds(retry_after(response)), what)
        self.budget.check(what)
        return request()
