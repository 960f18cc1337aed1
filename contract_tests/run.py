"""One run of the suite: its settings, target, budget, pacer, plan and ledger, and the
schemathesis schemas built for it."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pytest

from contract_tests.answers import AnswerJudge
from contract_tests.budget import Budget
from contract_tests.client import Client
from contract_tests.errors import BudgetExhausted, TargetError
from contract_tests.facts import SpecFacts
from contract_tests.ledger import Ledger
from contract_tests.pacing import ANONYMOUS, Pacer
from contract_tests.plan import Plan
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
#: Seconds between two progress lines.
PROGRESS_EVERY = 20.0
#: The longest an in-process run waits out a 429 (the throttle there is a broken variant's).
IN_PROCESS_MAX_WAIT = 1.0


def _target(settings: Settings) -> Target:
    if settings.app:
        target = Target.in_process(load_app(settings.app), f"{settings.app} in-process")
    elif settings.base_url:
        target = Target.remote(
            settings.base_url, reference=settings.reference, control_token=settings.control_token
        )
    else:
        target = Target.in_process(reference_app(), "the reference server in-process")
    if settings.read_only:
        target.reference = False
        target.description += ", tested as a deployment (read-only)"
    return target


def _pacer(settings: Settings, target: Target, budget: Budget) -> Pacer:
    if target.is_in_process:
        return Pacer(None, None, budget, max_wait=IN_PROCESS_MAX_WAIT)
    if settings.pace == "off":
        return Pacer(None, None, budget)
    if settings.pace == "auto":
        # A deployment at the spec's rates; a local server unpaced: both until the first 429
        # says otherwise.
        if target.is_loopback:
            return Pacer(None, None, budget, learn=True)
        return Pacer(USER_RATE, ANONYMOUS_RATE, budget, learn=True)
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
    plan: Plan | None = None
    #: where progress lines go (the terminal), once the plugin set it
    write: Callable[[str], None] | None = None
    #: tests of each part not run yet, for the shares of the budget
    tests_left: dict[str, int] = field(default_factory=dict)
    part: str | None = None
    _share_ends: float | None = field(default=None, repr=False)
    _share_requests: int = field(default=0, repr=False)
    _last_progress: float = field(default_factory=time.monotonic, repr=False)
    _looks_like_reference: bool | None = field(default=None, repr=False)
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
        pacer.on_throttled = ledger.record_throttled
        pacer.on_request = run.progress
        if target.reference:
            # the control API sets up and restores the server: no budget holds it back
            run.control = ReferenceControl(control_client(target, Pacer(None, None, Budget(None))))
        return run

    def begin(self) -> None:
        """Take hold of a reference server's clock and learn its accounts: the first requests
        of the run, sent after the plan is printed."""
        if self.control is None:
            return
        self.control.freeze()
        self.ledger.server_time = self.control.now
        names = {identity: self.control.username(key) for identity, key in self.keys.items()}
        self.ledger.judge = AnswerJudge(
            self.facts, {identity: name for identity, name in names.items() if name}
        )

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

    def looks_like_reference(self) -> bool:
        """Whether a target taken for a deployment is a reference server after all: its
        ``/control/clock/`` answers (one GET outside the API, asked once, when a write check
        is about to be skipped)."""
        if self.target.reference:
            return True
        if self._looks_like_reference is None:
            exchange = control_client(self.target, Pacer(None, None, Budget(None))).get("/clock/")
            body = exchange.json()
            self._looks_like_reference = (
                exchange.status == 200 and isinstance(body, dict) and "now" in body
            )
        return self._looks_like_reference

    # -- progress -------------------------------------------------------------------------

    def progress(self, *, force: bool = False) -> None:
        """A line saying how far the run is, every :data:`PROGRESS_EVERY` seconds."""
        now = time.monotonic()
        if self.write is None or (not force and now - self._last_progress < PROGRESS_EVERY):
            return
        self._last_progress = now
        planned = f"/~{self.plan.planned()}" if self.plan is not None else ""
        left = self.budget.seconds - self.budget.elapsed() if self.budget.seconds else None
        self.write(
            f"esdc: {self.pacer.sent}{planned} requests sent, {self.part or 'starting'}, "
            f"{self.budget.elapsed():.0f} s in"
            + (f", {max(0.0, left):.0f} s of the budget left" if left is not None else "")
            + (f", {self.pacer.waited:.0f} s waiting for the throttle" if self.pacer.waited else "")
        )

    def start_part(self, part: str) -> None:
        """A test of ``part`` starts: the last part may spend the reserve; schemathesis's
        coverage, fuzzing and stateful parts share what is left among their tests."""
        if part != self.part:
            self.part = part
            self.progress(force=self.write is not None and self.budget.seconds is not None)
        if part == "whole run":
            self.budget.final = True
        self._share_ends = None
        if part in ("coverage", "fuzzing", "stateful"):
            later = ("fuzzing", "stateful") if part != "coverage" else ("coverage",)
            left = max(1, sum(self.tests_left.get(name, 0) for name in later))
            remaining = self.budget.remaining()
            if remaining != math.inf:
                self._share_ends = time.monotonic() + remaining / left
        self.tests_left[part] = max(0, self.tests_left.get(part, 0) - 1)
        self._share_requests = self.pacer.sent

    # -- schemathesis ---------------------------------------------------------------------

    @property
    def schemathesis_may_cancel(self) -> bool:
        """Whether schemathesis may cancel (the first allowed task, on a deployment).

        The named cancel check gets the last allowed task: with one, it is kept for that check.
        """
        return self.may_write_freely or len(self.settings.allow_cancel) > 1

    def schemathesis(
        self, identity: str, *, phase: str | None = None, stateful: bool = False
    ) -> BaseSchema | None:
        """The schema to run schemathesis with as ``identity`` in one ``phase``, ``None``
        without its key.

        As ``user``: every operation, minus those unsafe against this target. As ``admin``:
        the operations only an admin gets answers from. For the ``stateful`` runs, whose
        links would fill in any task id, cancel and delete only on a reference server.
        """
        name = f"{identity}-{'stateful' if stateful else phase}"
        if name in self._schemas:
            schema: BaseSchema | None = self._schemas[name]
            return schema
        key = self.keys.get(identity)
        profile = self.settings.profile_values
        if key is None or (phase == "coverage" and not profile.coverage):
            self._schemas[name] = None
            return None
        import schemathesis

        from contract_tests import schema as configured

        fixed = None
        if not self.may_write_freely and self.schemathesis_may_cancel:
            fixed = self.settings.allow_cancel[0]
        config = configured.build_config(
            self.facts,
            base_url=self.target.base_url,
            api_key=key,
            seed=self.settings.seed,
            max_examples=profile.max_examples,
            stateful_steps=profile.stateful_steps,
            phase=phase,
            fixed_task_id=fixed,
        )
        loaded: BaseSchema = schemathesis.openapi.from_dict(self.facts.spec, config=config)
        if self.target.is_in_process:
            loaded.app = self.target.app
        excluded = set(self.excluded_operations())
        if stateful and not self.may_write_freely:
            excluded |= {"taskCancel", "taskDelete"}
        if phase == "fuzzing":
            # OPTIONS reads nothing of the request but its path, which coverage walks: fuzzing
            # its task id would spend the throttle's minute on nothing
            excluded |= {
                o.operation_id for o in self.facts.operations.values() if o.method == "OPTIONS"
            }
        if phase == "examples" and not self.may_write_freely:
            # the spec's login example could be a real account's name and password, and a
            # login replaces the user's token
            excluded.add("login")
        if identity == "admin":
            wanted = {"taskLogStats"} | ({"taskDelete"} if self.may_write_freely else set())
            excluded |= set(self.facts.operations) - wanted
        shared = self.shared_with_peer(stateful)
        if identity == "peer":
            excluded |= set(self.facts.operations) - shared
        elif identity == "user":
            excluded |= shared
        if excluded:
            loaded = loaded.exclude(operation_id=sorted(excluded))
        configured.install_hooks(
            loaded, ledger=self.ledger, identity=identity, keys=self.keys, session=self.session()
        )
        self._schemas[name] = loaded
        return loaded

    def shared_with_peer(self, stateful: bool = False) -> set[str]:
        """Operations schemathesis sends as the peer rather than the user against a remote
        deployment, so that its requests are spread over two keys' throttle windows: those
        whose answers any plain user's key shows as well (the task list and the log)."""
        if stateful or self.target.is_in_process or not self.keys.get("peer"):
            return set()
        return {"taskList", "taskLog"}

    def excluded_operations(self) -> dict[str, str]:
        """Operations schemathesis must not send to this target, with the reason."""
        if self.may_write_freely:
            return {}
        excluded = {
            # logging in replaces the user's token, logging out deletes it: either ends the
            # sessions of the user whose key the suite was given
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

    def session(self) -> Any:
        """The session schemathesis sends through: paced, and reading answers as they came."""
        if self._session is None:
            from contract_tests import schema as configured

            if self.target.is_in_process:
                self._session = configured.in_process_session(
                    self.target.app, self.pacer, self.keys
                )
            else:
                self._session = configured.PacedSession(self.pacer, self.keys)
        return self._session

    def call_kwargs(self) -> dict[str, Any]:
        """What schemathesis passes to each call."""
        return {"session": self.session()}

    def make_safe(self, case: Case[Any]) -> None:
        """Against a deployment: refuse a cancel or delete of a task nobody named, and make a
        login unable to succeed (:func:`contract_tests.schema.disarm`)."""
        from contract_tests.schema import disarm, guard

        guard(case, None if self.may_write_freely else self.settings.allow_cancel)
        if not self.may_write_freely:
            disarm(case)

    def exercise(self, case: Case[Any]) -> None:
        """Send a generated case and validate the answer with every check."""
        self.make_safe(case)
        if self._share_ends is not None and time.monotonic() > self._share_ends:
            sent = self.pacer.sent - self._share_requests
            pytest.skip(
                f"its share of the time budget of {self.settings.budget:g} s ran out after "
                f"{sent} requests, which passed"
            )
        try:
            self.budget.check(case.operation.label)
            case.call_and_validate(**self.call_kwargs())
        except BudgetExhausted as exc:
            pytest.skip(str(exc))
