"""One run of the suite: its settings, target, budget, pacer and ledger, and the schemathesis
schemas built for it."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pytest

from contract_tests.budget import Budget
from contract_tests.client import Client
from contract_tests.errors import BudgetExhausted, TargetError
from contract_tests.facts import SpecFacts
from contract_tests.ledger import Ledger
from contract_tests.pacing import ANONYMOUS, Pacer
from contract_tests.settings import Settings
from contract_tests.target import (
    DEMO_KEYS,
    ReferenceControl,
    Target,
    control_client,
    load_app,
    reference_app,
)
from esdc_api.rates import ANONYMOUS_RATE, USER_RATE, Rate

if TYPE_CHECKING:
    from schemathesis import Case
    from schemathesis.schemas import BaseSchema

IDENTITIES = ("user", "peer", "admin")


def _target(settings: Settings) -> Target:
    if settings.app:
        return Target.in_process(load_app(settings.app), f"{settings.app} in-process")
    if settings.base_url:
        return Target.remote(settings.base_url, reference=settings.reference)
    return Target.in_process(reference_app(), "the reference server in-process")


def _pacer(settings: Settings, target: Target, budget: Budget) -> Pacer:
    if settings.pace == "off" or (settings.pace == "auto" and target.is_loopback):
        return Pacer(None, None, budget)
    if settings.pace == "auto":
        return Pacer(USER_RATE, ANONYMOUS_RATE, budget)
    try:
        return Pacer(Rate.parse(settings.pace), ANONYMOUS_RATE, budget)
    except ValueError as exc:
        raise pytest.UsageError(f"--esdc-pace: {exc}; or 'off' or 'auto'") from None


@dataclass
class Run:
    """Everything one run of the suite shares."""

    settings: Settings
    facts: SpecFacts
    target: Target
    budget: Budget
    pacer: Pacer
    ledger: Ledger
    keys: dict[str, str | None]
    control: ReferenceControl | None = None
    #: schemathesis tests not run yet; each gets an equal share of the budget left
    schemathesis_tests_left: int = 0
    _share_ends: float | None = field(default=None, repr=False)
    _share_requests: int = field(default=0, repr=False)
    _schemas: dict[str, Any] = field(default_factory=dict, repr=False)
    _session: Any = field(default=None, repr=False)

    @classmethod
    def start(cls, settings: Settings) -> Run:
        from esdc_api.spec import load_spec

        facts = SpecFacts(load_spec())
        target = _target(settings)
        keys: dict[str, str | None] = {
            "user": settings.api_key,
            "peer": settings.peer_api_key,
            "admin": settings.admin_api_key,
        }
        if target.is_in_process:
            keys = {name: keys[name] or DEMO_KEYS[name] for name in IDENTITIES}
        elif not keys["user"]:
            raise TargetError(
                f"testing {target.base_url} needs a user's API key: --esdc-api-key or ESDC_API_KEY "
                "(esdc-api check --api-key)"
            )
        budget = Budget(settings.budget)
        pacer = _pacer(settings, target, budget)
        ledger = Ledger(facts)
        run = cls(settings, facts, target, budget, pacer, ledger, keys)
        if target.reference:
            run.control = ReferenceControl(control_client(target, Pacer(None, None, budget)))
            run.control.freeze()
            ledger.server_time = run.control.now
        return run

    def close(self) -> None:
        if self.control is not None:
            try:
                self.control.restore()
            except Exception as exc:  # the report must still be written
                self.ledger.note(f"could not let the reference server's clock run again: {exc}")
        self.target.close()

    # -- clients --------------------------------------------------------------------------

    def client(self, identity: str) -> Client:
        """The API as ``user``, ``peer``, ``admin`` or ``anonymous`` (no credentials)."""
        key = None if identity == ANONYMOUS else self.keys[identity]
        return Client(
            self.target.backend(),
            self.target.base_url,
            identity=identity,
            api_key=key,
            pacer=self.pacer,
            on_exchange=self.ledger.record_exchange,
        )

    # -- safety ---------------------------------------------------------------------------

    @property
    def may_write_freely(self) -> bool:
        """Whether cancel and delete may name any task (only on reference servers)."""
        return self.target.reference

    def may_cancel(self, task_id: str) -> bool:
        return self.may_write_freely or task_id in self.settings.allow_cancel

    # -- schemathesis ---------------------------------------------------------------------

    @property
    def schemathesis_may_cancel(self) -> bool:
        """Whether schemathesis may cancel (the first allowed task, on a deployment).

        The named cancel check gets the last allowed task: with one, it is kept for that check.
        """
        return self.may_write_freely or len(self.settings.allow_cancel) > 1

    def schemathesis(self, identity: str, *, stateful: bool = False) -> BaseSchema | None:
        """The schema to run schemathesis with as ``identity``, ``None`` without its key.

        As ``user``: every operation, minus those unsafe against this target. As ``admin``:
        the operations only an admin gets answers from. For the ``stateful`` phase, whose
        links would fill in any task id, cancel and delete only on a reference server.
        """
        name = f"{identity}-stateful" if stateful else identity
        if name in self._schemas:
            schema: BaseSchema | None = self._schemas[name]
            return schema
        key = self.keys.get(identity)
        if key is None:
            self._schemas[name] = None
            return None
        import schemathesis

        from contract_tests import schema as configured

        fixed = None
        if not self.may_write_freely and self.schemathesis_may_cancel:
            fixed = self.settings.allow_cancel[0]
        profile = self.settings.profile_values
        config = configured.build_config(
            self.facts,
            base_url=self.target.base_url,
            api_key=key,
            seed=self.settings.seed,
            max_examples=profile.max_examples,
            stateful_steps=profile.stateful_steps,
            coverage=profile.coverage,
            fixed_task_id=fixed,
        )
        loaded: BaseSchema = schemathesis.openapi.from_dict(self.facts.spec, config=config)
        if self.target.is_in_process:
            loaded.app = self.target.app
        excluded = set(self.excluded_operations())
        if stateful and not self.may_write_freely:
            excluded |= {"taskCancel", "taskDelete"}
        if identity == "admin":
            wanted = {"taskLogStats"} | ({"taskDelete"} if self.may_write_freely else set())
            excluded |= set(self.facts.operations) - wanted
        if excluded:
            loaded = loaded.exclude(operation_id=sorted(excluded))
        configured.install_hooks(loaded, ledger=self.ledger, identity=identity)
        self._schemas[name] = loaded
        return loaded

    def excluded_operations(self) -> dict[str, str]:
        """Operations schemathesis must not send to this target, with the reason."""
        if self.may_write_freely:
            return {}
        excluded = {
            # logging out ends the sessions of the user whose key the suite was given
            "logout": "it would end the user's sessions",
        }
        if not self.schemathesis_may_cancel:
            reason = (
                "the one task named with --esdc-allow-cancel is kept for the cancel check"
                if self.settings.allow_cancel
                else "no task was named with --esdc-allow-cancel"
            )
            excluded["taskCancel"] = reason
            excluded["taskDelete"] = reason
        return excluded

    def call_kwargs(self) -> dict[str, Any]:
        """What schemathesis passes to each call: the paced session, over the network."""
        if self.target.is_in_process:
            return {}
        if self._session is None:
            from contract_tests.schema import PacedSession

            self._session = PacedSession(self.pacer, self.keys)
        return {"session": self._session}

    def start_share(self) -> None:
        """Start a schemathesis test: it may use its share of the budget left, so that a short
        budget still reaches every operation."""
        left = max(1, self.schemathesis_tests_left)
        self.schemathesis_tests_left = left - 1
        remaining = self.budget.remaining()
        self._share_ends = None if remaining == math.inf else time.monotonic() + remaining / left
        self._share_requests = sum(self.ledger.requests.values())

    def exercise(self, case: Case[Any]) -> None:
        """Send a generated case and validate the answer with every check."""
        from contract_tests.schema import guard

        guard(case, None if self.may_write_freely else self.settings.allow_cancel)
        if self._share_ends is not None and time.monotonic() > self._share_ends:
            sent = sum(self.ledger.requests.values()) - self._share_requests
            pytest.skip(
                f"its share of the time budget of {self.settings.budget:g} s ran out after "
                f"{sent} requests, which passed"
            )
        try:
            self.budget.check(case.operation.label)
            case.call_and_validate(**self.call_kwargs())
        except BudgetExhausted as exc:
            pytest.skip(str(exc))
