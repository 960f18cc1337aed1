"""Request throttling as Django REST framework's SimpleRateThrottle does it.

Each key (a user, or an IP address for anonymous callers) may make ``rate`` requests per
``period`` seconds. Over that, the caller is told how long to wait: the time until the oldest
request in the window leaves it, spread over the requests that will then be free again.
Throttling runs on real time, not on the deployment's clock: it is about how fast a client
calls, not about where the tasks are.
"""

from __future__ import annotations

import math
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable

from esdc_api.rates import Rate
from mockserver.errors import Throttled


class Throttle:
    """Counts requests per key in a sliding window."""

    def __init__(self, rate: Rate, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self._clock = clock
        self._history: defaultdict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def hit(self, key: str) -> None:
        """Count a request of ``key``, or raise :class:`Throttled` if it is one too many."""
        now = self._clock()
        with self._lock:
            history = self._history[key]
            while history and history[0] <= now - self.rate.period:
                history.popleft()
            if len(history) >= self.rate.requests:
                remaining = self.rate.period - (now - history[0])
                available = self.rate.requests - len(history) + 1
                raise Throttled(max(1, math.ceil(remaining / max(available, 1))))
            history.append(now)

    def reset(self) -> None:
        with self._lock:
            self._history.clear()
