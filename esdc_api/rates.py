"""Request rates, written as Danube Cloud's throttle settings write them: ``45/min``.

Shared by the reference server, which throttles at these rates, and the contract suite, which
paces itself under them; it depends on nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


@dataclass(frozen=True)
class Rate:
    """``requests`` per ``period`` seconds."""

    requests: int
    period: float

    @classmethod
    def parse(cls, text: str) -> Rate:
        """``"45/min"``, ``"30/minute"``, ``"10/s"``, ``"1000/hour"``, ``"5/day"``."""
        try:
            count, unit = text.split("/")
            period = _UNITS[unit.strip()[0]]
            requests = int(count)
        except (ValueError, KeyError, IndexError):
            raise ValueError(f"a rate looks like '45/min', not {text!r}") from None
        if requests < 1:
            raise ValueError(f"a rate allows at least one request, not {text!r}")
        return cls(requests, period)

    def __str__(self) -> str:
        return f"{self.requests}/{self.period:g}s"


#: The rates real deployments throttle at (Django REST framework settings of Danube Cloud).
USER_RATE = Rate(45, 60.0)
ANONYMOUS_RATE = Rate(30, 60.0)
