"""Errors of the contract suite.

::

    ContractError                 base of everything the suite raises on purpose
    ├── ContractViolation         a named check found the deployment differing from the spec
    ├── BudgetExhausted           the time budget ran out; the test is skipped, not failed
    ├── KeptThrottling            the deployment answered 429 after every wait; skipped too
    ├── UnsafeRequest             a request could change a real task; it was not sent
    └── TargetError               the target or its credentials are not usable as configured

:class:`ContractViolation` is an :class:`AssertionError`, so pytest reports it as a failure of
the check (the test), with the exchanges that show it and how to replay them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from contract_tests.client import Exchange


class ContractError(Exception):
    """Base of the suite's own errors."""


class ContractViolation(ContractError, AssertionError):
    """Raised when the deployment does something the spec says it does not.

    :param message: what differs, in words a deployment's operator understands.
    :param exchanges: the requests and answers that show it; each is printed with a replay.
    :param rule: the rule it breaks (:mod:`contract_tests.rules`); ``None`` for the rule of
        the running check.
    """

    def __init__(self, message: str, *exchanges: Exchange, rule: str | None = None) -> None:
        self.message = message
        self.exchanges = exchanges
        self.rule = rule
        super().__init__(self._render())

    def _render(self) -> str:
        parts = [f"[{self.rule}] {self.message}" if self.rule else self.message]
        for exchange in self.exchanges:
            parts.append(f"\n  {exchange.summary()}\n  replay: {exchange.curl()}")
        return "\n".join(parts)


class BudgetExhausted(ContractError):
    """Raised when the time budget (``--esdc-budget``) does not allow another request."""

    def __init__(self, seconds: float, what: str) -> None:
        self.seconds = seconds
        super().__init__(f"the time budget of {seconds:g} s ran out before {what}")


class KeptThrottling(ContractError):
    """Raised when a request was still answered 429 after every wait its Retry-After asked
    for: what it was to check is not tested (the 429s themselves are judged)."""

    def __init__(self, what: str, attempts: int) -> None:
        super().__init__(
            f"throttled: {what} was answered 429 after {attempts} waits for Retry-After; "
            "another client may be using the same key"
        )


class UnsafeRequest(ContractError):
    """Raised instead of sending a request that could change a task the caller did not name.

    Against a deployment that is not a reference server, only the tasks given with
    ``--esdc-allow-cancel`` may be cancelled or deleted.
    """


class TargetError(ContractError):
    """Raised when the target cannot be used as configured (a missing key, a bad app path)."""
