"""Pacing requests under the deployment's throttle, learning its rate, and waiting out a 429.

Danube Cloud throttles with Django REST framework's sliding window: 45 requests a minute per
authenticated user and 30 per anonymous IP address (the spec's ``Throttled`` response says
so). :class:`Pacer` keeps the same window on the client side, one per identity. It starts at
the rate it is given (the spec's, against a remote deployment; none for a local one) and, if
``learn`` is set, takes the rate the first 429 implies from then on: the requests that
identity got through in the window that 429 closes, over that window. A 429 is waited out as
its ``Retry-After`` says and the request sent again; each 429 is shown to ``on_throttled``, so
that the run judges it.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from typing import TypeVar

from contract_tests.budget import Budget
from contract_tests.errors import KeptThrottling
from esdc_api.rates import Rate

T = TypeVar("T")

ANONYMOUS = "anonymous"
#: Requests no throttle counts: without credentials to an endpoint that needs them (they are
#: refused before the throttle is asked).
UNCOUNTED = "uncounted"
#: How often a throttled request is sent again before the check gives up on it.
MAX_RETRIES = 4
#: The wait when a 429 has no usable Retry-After (the length of the throttle's window).
DEFAULT_RETRY_AFTER = 60.0
#: A 429 that follows fewer requests of ours in its window teaches no rate.
MIN_LEARNED = 5
#: Throttle windows as Django REST framework knows them, shortest first.
WINDOWS = (1.0, 60.0, 3600.0, 86400.0)


def retry_after_seconds(value: str | None) -> float | None:
    """Seconds a ``Retry-After`` asks for, or ``None`` if it is missing or not a number."""
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


class Pacer:
    """Sends requests no faster than the throttle allows, per identity.

    :param user_rate: the rate of each authenticated identity, or ``None`` not to pace them.
    :param anonymous_rate: the rate of requests without credentials, or ``None``.
    :param budget: no wait may outlast it.
    :param learn: take the rate the first 429 of each kind of caller implies.
    :param max_wait: the longest a 429 is waited out (in-process, where time is not the
        throttle's); ``None`` waits as long as ``Retry-After`` says.
    """

    def __init__(
        self,
        user_rate: Rate | None,
        anonymous_rate: Rate | None,
        budget: Budget,
        *,
        learn: bool = False,
        max_wait: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.user_rate = user_rate
        self.anonymous_rate = anonymous_rate
        self.budget = budget
        self.learn = learn
        self.max_wait = max_wait
        self._clock = clock
        self._sleep = sleep
        self._sent: defaultdict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()
        self.waited = 0.0
        self.throttled = 0
        self.sent = 0
        #: how each rate was learned, for the report (``user``/``anonymous`` → sentence)
        self.learned: dict[str, str] = {}
        #: called with the identity, ``METHOD /path``, the Retry-After value and the body of
        #: every 429
        self.on_throttled: Callable[[str, str, str | None, str], None] | None = None
        self.on_request: Callable[[], None] | None = None

    def __repr__(self) -> str:
        return f"Pacer(user={self.user_rate}, anonymous={self.anonymous_rate})"

    @property
    def paces(self) -> bool:
        return self.user_rate is not None

    def rate_of(self, identity: str) -> Rate | None:
        if identity == UNCOUNTED:
            return None
        return self.anonymous_rate if identity == ANONYMOUS else self.user_rate

    def _wait(self, seconds: float, what: str) -> None:
        if seconds <= 0:
            return
        self.budget.check(
            f"{what}, which would first wait {seconds:.0f} s for the throttle", needs=seconds
        )
        self.waited += seconds
        self._sleep(seconds)

    def acquire(self, identity: str, what: str = "the next request") -> None:
        """Wait until ``identity`` may send another request, then count it."""
        while True:
            with self._lock:
                now = self._clock()
                sent = self._sent[identity]
                rate = self.rate_of(identity)
                horizon = rate.period if rate is not None else WINDOWS[-1]
                while sent and sent[0] <= now - horizon:
                    sent.popleft()
                if rate is None or len(sent) < rate.requests:
                    sent.append(now)
                    return
                wait = sent[-rate.requests] + rate.period - now
            self._wait(wait, what)

    def _learn(self, identity: str, retry_after: float | None, what: str) -> None:
        """Pace at the rate a 429 implies: the requests let through in the window it closes."""
        if not self.learn or retry_after is None or identity == UNCOUNTED:
            return
        kind = "anonymous" if identity == ANONYMOUS else "user"
        if kind in self.learned:
            # throttled at the learned pace after all: the window let one request fewer through
            current = self.rate_of(identity)
            if current is not None and current.requests > 1:
                slower = Rate(current.requests - 1, current.period)
                if kind == "anonymous":
                    self.anonymous_rate = slower
                else:
                    self.user_rate = slower
            return
        with self._lock:
            now = self._clock()
            period = next((w for w in WINDOWS if retry_after <= w), WINDOWS[-1])
            sent = self._sent[identity]
            # The wait is the time until the oldest request of the window leaves it, rounded
            # up to whole seconds (DRF's ceil): that request was sent less than a second before
            # now + wait - period. The 429's own request was counted too: it was not let
            # through.
            oldest = now + retry_after - period - 1.0
            through = sum(1 for moment in list(sent)[:-1] if moment >= oldest)
            if through < MIN_LEARNED:
                # the window was filled by someone else (another client with the key, an
                # earlier run): it says nothing about the rate
                return
            learned = Rate(through, period)
            current = self.rate_of(identity)
            if current is None or learned.requests / learned.period < (
                current.requests / current.period
            ):
                if kind == "anonymous":
                    self.anonymous_rate = learned
                else:
                    self.user_rate = learned
            self.learned[kind] = (
                f"{learned.requests} per {learned.period:g} s, from the first 429 "
                f"({what} as {identity}, Retry-After {retry_after:g})"
            )

    def send(
        self,
        identity: str,
        request: Callable[[], T],
        *,
        status: Callable[[T], int],
        retry_after: Callable[[T], str | None],
        text: Callable[[T], str] = lambda _response: "",
        what: str = "the next request",
        retries: int = MAX_RETRIES,
        give_up: bool = False,
    ) -> T:
        """Send ``request`` as ``identity``, waiting for a slot, and again after a 429.

        :param retries: how often a 429 is waited out; ``0`` returns the first answer.
        :param give_up: raise :class:`KeptThrottling` when the last try is a 429 too, instead
            of returning it.
        """
        for attempt in range(retries + 1):
            self.budget.check(what)
            self.acquire(identity, what)
            response = request()
            self.sent += 1
            if self.on_request is not None:
                self.on_request()
            if status(response) != 429:
                return response
            self.throttled += 1
            header = retry_after(response)
            if self.on_throttled is not None:
                self.on_throttled(identity, what, header, text(response))
            seconds = retry_after_seconds(header)
            self._learn(identity, seconds, what)
            if attempt == retries:
                break
            wait = DEFAULT_RETRY_AFTER if seconds is None else seconds
            if self.max_wait is not None:
                wait = min(wait, self.max_wait)
            self._wait(wait, what)
        if give_up:
            raise KeptThrottling(what, retries)
        return response
