"""What happened during a run: requests, answers, findings by rule, known defects, states.

The named checks and schemathesis both report here; the summary and the checks that judge the
run as a whole (every answer's rules, authenticated requests succeeded, states never went
backwards) read it.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from contract_tests.answers import AnswerJudge, Finding, judge_throttled
from contract_tests.client import Exchange
from contract_tests.deviations import Excuse
from contract_tests.facts import SpecFacts
from contract_tests.states import Observation
from esdc_api.deviations import KnownDefect

#: The operations whose answers carry a task's state.
STATE_OPERATIONS = frozenset({"taskStatus", "taskState", "taskDone", "taskCancel"})
#: Rules judged on every answer, whoever sent the request.
ANSWER_RULES = ("well-formed-answers", "answer-time", "es-headers", "es-username")


@dataclass
class Excused:
    """How often an excuse applied to an answer, and the first such answer."""

    rule: Excuse
    count: int = 0
    example: str = ""


@dataclass
class Found:
    """How often one problem of a rule was found, and the first answer that showed it."""

    finding: Finding
    evidence: Exchange | None
    text: str = ""
    count: int = 0


@dataclass
class DefectSeen:
    """A known defect of the deployment's version that the run ran into."""

    defect: KnownDefect
    example: str
    count: int = 0


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
    #: the rule of the running named check, which its answers count for
    current_rule: str | None = None
    observations: list[Observation] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: answers judged, by rule
    judged: Counter[str] = field(default_factory=Counter)
    #: what broke each rule judged on every answer: rule → problem → first evidence
    findings: defaultdict[str, dict[str, Found]] = field(default_factory=lambda: defaultdict(dict))
    defects: dict[str, DefectSeen] = field(default_factory=dict)
    #: the deployment's version, from the first es_version header
    version: str | None = None
    judge: AnswerJudge | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        if self.judge is None:
            self.judge = AnswerJudge(self.facts)

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    # -- every answer -----------------------------------------------------------------------

    def record_exchange(self, exchange: Exchange, *, documented: bool = True) -> None:
        """Count an exchange, judge it by the rules of every answer, note the task state it
        shows.

        :param documented: hold it to the spec's responses too (schemathesis judges its own
            answers by them).
        """
        assert self.judge is not None
        with self._lock:
            self.requests[exchange.identity] += 1
            if self.current_rule is not None and documented:
                self.judged[self.current_rule] += 1
            if self.version is None and exchange.header("es_version"):
                self.version = exchange.header("es_version")
        defect = self.judge.known_defect(exchange, self.version)
        if defect is not None:
            self.record_defect(defect, exchange.summary(200))
        routed = self.facts.route(exchange.method, exchange.path)
        with self._lock:
            for name in ANSWER_RULES:
                self.judged[name] += 1
            if documented and routed is not None:
                self.judged["documented-answers"] += 1
        for finding in self.judge.judge(exchange, documented=documented, version=self.version):
            self.find(finding, exchange)
        if routed is None:
            return
        op, params = routed
        if op.operation_id in STATE_OPERATIONS and "task_id" in params:
            self.observe(
                op.operation_id,
                params["task_id"],
                exchange.status,
                exchange.json(),
                evidence=exchange.summary(200),
                date=exchange.date,
            )

    def record_throttled(
        self, identity: str, what: str, retry_after: str | None, body: str
    ) -> None:
        """Judge a 429, including those the pacer waited out and sent again."""
        with self._lock:
            self.judged["throttle-answer"] += 1
        for finding in judge_throttled(self.facts, identity, what, retry_after, body):
            self.find(
                finding, None, text=f"{what} as {identity} → 429 {' '.join(body.split())[:150]}"
            )

    def find(self, finding: Finding, exchange: Exchange | None, *, text: str = "") -> None:
        with self._lock:
            found = self.findings[finding.rule].setdefault(
                finding.problem,
                Found(finding, exchange, text or (exchange.summary(200) if exchange else "")),
            )
            found.count += 1

    def record_defect(self, defect: KnownDefect, example: str) -> None:
        with self._lock:
            seen = self.defects.setdefault(defect.id, DefectSeen(defect, example))
            seen.count += 1

    def record_answer(self, label: str, status: int) -> None:
        """Count a schemathesis answer of one operation."""
        with self._lock:
            self.answers[label][status] += 1

    def count(self, rule: str, answers: int = 1) -> None:
        """Count answers judged by ``rule`` outside a check's own requests."""
        with self._lock:
            self.judged[rule] += answers

    # -- task states ---------------------------------------------------------------------

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
                states = self.facts.states_with_status(status) or (
                    frozenset({"SUCCESS"}) if body["done"] else frozenset()
                )
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

    # -- excuses and notes ---------------------------------------------------------------

    def excuse(self, rule: Excuse, evidence: str) -> None:
        with self._lock:
            record = self.excused.setdefault(rule.name, Excused(rule))
            record.count += 1
            if not record.example:
                record.example = evidence

    def note(self, text: str) -> None:
        with self._lock:
            if text not in self.notes:
                self.notes.append(text)
