"""What happened during a run: requests, answers, excused differences and task states.

The named checks and schemathesis both report here; the summary and the checks that judge the
run as a whole (authenticated requests succeeded, states never went backwards) read it.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from openapi_schema_validator import OAS30Validator

from contract_tests.client import Exchange
from contract_tests.deviations import Rule
from contract_tests.facts import SpecFacts
from contract_tests.states import Observation

#: The operations whose answers carry a task's state.
STATE_OPERATIONS = frozenset({"taskStatus", "taskState", "taskDone", "taskCancel"})


@dataclass
class Excused:
    """How often a rule excused an answer, and the first such answer."""

    rule: Rule
    count: int = 0
    example: str = ""


@dataclass
class Ledger:
    """The record of one run.

    :param server_time: the deployment's clock, where the suite knows it (reference servers);
        otherwise each answer's ``Date`` header is used.
    """

    facts: SpecFacts
    server_time: Callable[[], datetime | None] = lambda: None
    started: float = field(default_factory=time.monotonic)
    requests: Counter[str] = field(default_factory=Counter)
    answers: defaultdict[str, Counter[int]] = field(default_factory=lambda: defaultdict(Counter))
    excused: dict[str, Excused] = field(default_factory=dict)
    #: the schemathesis checks that failed, by the test (node id) that ran them
    failed_checks: defaultdict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    current_test: str | None = None
    observations: list[Observation] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: answers to the named checks that the spec does not describe: problem → the exchange
    nonconforming: dict[str, Exchange] = field(default_factory=dict)
    _validators: dict[tuple[str, int, str], Any] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def record_exchange(self, exchange: Exchange) -> None:
        """Count a named check's exchange and note the task state it shows."""
        with self._lock:
            self.requests[exchange.identity] += 1
        routed = self.facts.route(exchange.method, exchange.path)
        if routed is None:
            return
        op, params = routed
        problem = self._nonconformance(op.operation_id, op.label, exchange)
        if problem is not None:
            with self._lock:
                self.nonconforming.setdefault(problem, exchange)
        if op.operation_id in STATE_OPERATIONS and "task_id" in params:
            self.observe(
                op.operation_id,
                params["task_id"],
                exchange.status,
                exchange.json(),
                evidence=exchange.summary(200),
                date=exchange.date,
            )

    def _nonconformance(self, operation_id: str, label: str, exchange: Exchange) -> str | None:
        """What is wrong with an answer by the spec's responses, or ``None``."""
        if self.facts.response(operation_id, exchange.status) is None:
            return f"{label} answered {exchange.status}, which the spec does not document"
        media = (exchange.header("content-type") or "").split(";")[0].strip()
        if media != "application/json" or not exchange.is_json:
            return None  # a media type the spec lacks is schemathesis's to judge
        key = (operation_id, exchange.status, media)
        if key not in self._validators:
            schema = self.facts.response_schema(operation_id, exchange.status, media)
            self._validators[key] = (
                None
                if schema is None
                else OAS30Validator(schema, format_checker=OAS30Validator.FORMAT_CHECKER)
            )
        validator = self._validators[key]
        if validator is None:
            return f"{label} answered {exchange.status} with JSON, which the spec does not document"
        error = next(iter(validator.iter_errors(exchange.json())), None)
        if error is None:
            return None
        where = "/".join(str(p) for p in error.absolute_path) or "the body"
        return (
            f"{label} answered {exchange.status} with a body that breaks the spec at {where}: "
            f"{error.message[:200]}"
        )

    def record_answer(self, label: str, identity: str, status: int) -> None:
        """Count a schemathesis answer of one operation."""
        with self._lock:
            self.requests[identity] += 1
            self.answers[label][status] += 1

    def observe(
        self,
        operation_id: str,
        task_id: str,
        status: int,
        body: Any,
        *,
        evidence: str,
        date: datetime | None = None,
    ) -> None:
        """Note the state an answer of a state operation shows, if it shows one."""
        states: frozenset[str] = frozenset()
        if isinstance(body, Mapping) and body.get("task_id") == task_id:
            if operation_id == "taskDone" and isinstance(body.get("done"), bool):
                states = self.facts.states_with_status(status)
            elif body.get("status") in self.facts.state_http_status:
                states = frozenset({str(body["status"])})
        if not states:
            return
        observation = Observation.of(
            task_id,
            states,
            elapsed=self.elapsed(),
            server_time=self.server_time() or date,
            evidence=evidence,
        )
        with self._lock:
            self.observations.append(observation)

    def excuse(self, rule: Rule, evidence: str) -> None:
        with self._lock:
            record = self.excused.setdefault(rule.name, Excused(rule))
            record.count += 1
            if not record.example:
                record.example = evidence

    def note(self, text: str) -> None:
        with self._lock:
            if text not in self.notes:
                self.notes.append(text)
