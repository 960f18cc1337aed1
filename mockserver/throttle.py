"""Request throttling as Django REST framework's SimpleRateThrottle does it.

Each key (a user, or an IP address for anonymous callers) may make ``rate`` requests per
``period`` seconds. Over that, the caller is told how long to wait: the time until the oldest
request in the window leaves it, spread over the requests that will then be free again.
Throttling runs on real time, not on the deployment's clock: it is about how fast a client
calls, not about where the tasks are. The control API can make it count on the deployment's
clock instead (a replay of recorded exchanges moves the clock to each one's moment), and turn it
off and on.
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
    """Counts requests per key in a sliding window.

    :param enabled: a throttle that is off counts nothing and refuses nothing.
    """

    def __init__(
        self, rate: Rate, *, clock: Callable[[], float] = time.monotonic, enabled: bool = True
    ) -> None:
        self.rate = rate
        self.enabled = enabled
        self._clock = clock
        self._history: defaultdict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def use_clock(self, clock: Callable[[], float]) -> None:
        """Count on another clock from now on (its seconds); what was counted is forgotten."""
        with self._lock:
            self._clock = clock
            self._history.clear()

    def hit(self, key: str) -> None:
        """Count a request of ``key``, or raise :class:`Throttled` if it is one too many."""
        if not self.enabled:
            return
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
