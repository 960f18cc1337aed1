"""The run's summary: target, seed, what was tested and how many answers each rule judged,
what failed (the rule, what the spec says, the answer, a replay and a rerun), the known defects
of the deployment's version, the known deviations, and what was not tested and why. Printed at
the end of the terminal report and optionally written as JSON (``--esdc-report-json``)."""

from __future__ import annotations

import os
import re
import shlex
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from contract_tests.rules import rule as rule_named
from contract_tests.run import Run

_CURL = re.compile(r"(?:replay: |^\s*)(curl .+)$", re.MULTILINE)
SUITE = Path(__file__).parent


@dataclass
class Outcome:
    """What became of one test (one check, or one operation under schemathesis)."""

    nodeid: str
    name: str
    outcome: str
    message: str = ""
    replays: list[str] = field(default_factory=list)
    answers: list[str] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)
    rule: str | None = None

    @property
    def check(self) -> str:
        """The check's name: the test's, or schemathesis's checks for one operation."""
        if self.checks:
            return ", ".join(self.checks)
        return self.name.removeprefix("test_").split("[")[0]

    @property
    def rules(self) -> list[str]:
        """The rules it broke: its own, the schemathesis checks that failed, and those its
        message names (``[rule] ...``)."""
        named = re.findall(r"\[([a-z0-9_-]+)\]", self.message)
        found = [self.rule] if self.rule else []
        return list(dict.fromkeys([*found, *self.checks, *named]))


class Report:
    """Collects pytest's reports of the contract tests and renders the summary."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self.outcomes: dict[str, Outcome] = {}

    def add(
        self,
        report: pytest.TestReport,
        *,
        message: str = "",
        replays: list[str] | None = None,
        answers: list[str] | None = None,
        rule: str | None = None,
    ) -> None:
        """Record a test's report; ``message`` and ``replays`` come from its exception."""
        if report.when != "call" and not (report.failed or report.skipped):
            return
        name = report.nodeid.split("::")[-1]
        previous = self.outcomes.get(report.nodeid)
        if previous is not None and previous.outcome in ("failed", "error"):
            return  # keep the call's failure over a teardown's report
        outcome = report.outcome if report.when == "call" or report.skipped else "error"
        text = str(report.longrepr) if report.longrepr is not None else ""
        if report.skipped and isinstance(report.longrepr, tuple):
            text = str(report.longrepr[2]).removeprefix("Skipped: ")
        entry = Outcome(report.nodeid, name, outcome, rule=rule)
        if outcome in ("failed", "error"):
            entry.message = message or _first_lines(text)
            entry.replays = replays or list(dict.fromkeys(_CURL.findall(text)))[:3]
            entry.answers = answers or []
            entry.checks = sorted(self.run.ledger.failed_checks.get(report.nodeid, ()))
        elif outcome == "skipped":
            if "told to run no test cases" in text:
                text = "the spec gives this operation no examples"
            entry.message = text
        self.outcomes[report.nodeid] = entry

    # -- rendering ------------------------------------------------------------------------

    def rerun_command(self, nodeid: str | None = None) -> str:
        """A command that runs the test again, as printed, from where the run was started."""
        settings = self.run.settings
        test = nodeid.split("::", 1) if nodeid else None
        if settings.command == "check":
            parts = ["esdc-api", "check"]
            if settings.base_url:
                parts.append(shlex.quote(settings.base_url))
                if settings.reference:
                    parts.append("--reference")
            elif settings.app:
                parts = [f"ESDC_APP={shlex.quote(settings.app)}", *parts]
            parts += [f"--allow-cancel={shlex.quote(t)}" for t in settings.allow_cancel]
            if settings.pace != "auto":
                parts.append(f"--pace={shlex.quote(settings.pace)}")
            parts.append(f"--seed={settings.seed}")
            if test is not None:
                parts += ["--", shlex.quote(f"{Path(test[0]).name}::{test[1]}")]
            return " ".join(parts)
        target = []
        if settings.base_url:
            target = [f"--esdc-url={shlex.quote(settings.base_url)}"]
            if settings.reference:
                target.append("--esdc-reference")
        elif settings.app:
            target = [f"--esdc-app={shlex.quote(settings.app)}"]
        where = os.path.relpath(SUITE, Path.cwd())
        selected = where if test is None else f"{where}/{Path(test[0]).name}::{test[1]}"
        return " ".join(["pytest", shlex.quote(selected), *target, f"--esdc-seed={settings.seed}"])

    def untested_for_time(self) -> list[Outcome]:
        return [
            o
            for o in self.outcomes.values()
            if o.outcome == "skipped" and _skip_kind(o.message) == "time"
        ]

    def lines(self) -> list[str]:
        run, ledger = self.run, self.run.ledger
        counts = Counter(o.outcome for o in self.outcomes.values())
        failures = counts.get("failed", 0) + counts.get("error", 0)
        seed = run.settings.seed
        schema_tests = [o for o in self.outcomes.values() if _is_schemathesis(o.nodeid)]
        named = [o for o in self.outcomes.values() if not _is_schemathesis(o.nodeid)]
        waited = f", {run.pacer.waited:.0f} s waiting for the throttle" if run.pacer.waited else ""
        throttled = f", {run.pacer.throttled} answered 429" if run.pacer.throttled else ""
        out = [
            f"target      {run.target.description} ({run.target.base_url})",
            f"seed        {seed}   (again: --esdc-seed {seed}, or --esdc-seed last)",
            f"tested      {len(named)} named checks and {len(schema_tests)} "
            f"schemathesis tests (profile {run.settings.profile}); "
            f"{sum(ledger.requests.values())} requests in {run.budget.elapsed():.1f} s"
            + waited
            + throttled,
        ]
        for kind, how in run.pacer.learned.items():
            out.append(f"pace        {kind}: {how}")
        out.append(
            f"result      {counts.get('passed', 0)} passed, {failures} failed, "
            f"{counts.get('skipped', 0)} skipped"
        )
        judged = sorted(ledger.judged.items())
        if judged:
            out.append("judged      " + _wrap(", ".join(f"{name} {n}" for name, n in judged)))
        failed = [o for o in self.outcomes.values() if o.outcome in ("failed", "error")]
        if failed:
            out += [
                "",
                "FAILED (replays and reruns read the keys from $ESDC_API_KEY, "
                "$ESDC_PEER_API_KEY and $ESDC_ADMIN_API_KEY)",
            ]
            for o in failed:
                rules = o.rules or [o.check]
                first = o.message.splitlines()[0] if o.message else o.outcome
                out.append(f"  {', '.join(rules)}: {first}")
                for name in rules[:2]:
                    out.append(f"    spec:   {rule_named(name).says}")
                out.append(f"    test:   {o.nodeid}")
                for answer in o.answers:
                    out.append(f"    got:    {answer}")
                # an in-process target has no address: the rerun is the replay there
                label = "request" if run.target.is_in_process else "replay"
                for replay in o.replays:
                    out.append(f"    {label}: {replay}")
                for line in o.message.splitlines()[1:6]:
                    out.append(f"            {line}")
                out.append(f"    rerun:  {self.rerun_command(o.nodeid)}")
        if ledger.defects:
            version = ledger.version or "this version"
            strict = (
                "they fail the run (--esdc-strict)"
                if run.settings.strict
                else ("not failures; --esdc-strict makes them fail the run")
            )
            out += [
                "",
                f"KNOWN DEFECTS OF {version} (bugs of that version, in the spec's "
                f"x-known-defects; {strict})",
            ]
            for seen in ledger.defects.values():
                out.append(f"  {seen.defect.id} ({seen.count}x): {seen.defect.summary}")
                out.append(f"    e.g. {seen.example[:300]}")
        deviations = [e for e in ledger.excused.values() if e.rule.kind == "deviation"]
        if deviations:
            out += ["", "KNOWN DEVIATIONS (documented in the spec; not failures)"]
            for e in deviations:
                out.append(f"  {e.rule.name} ({e.count}x): {e.rule.description}")
                out.append(f"    e.g. {e.example[:300]}")
        allowances = [e for e in ledger.excused.values() if e.rule.kind == "allowance"]
        if allowances:
            out.append("")
            out.append(
                "judged by the spec's words, not its schemas: "
                + ", ".join(f"{e.rule.name} ({e.count}x)" for e in allowances)
            )
        skipped = [o for o in self.outcomes.values() if o.outcome == "skipped"]
        excluded = run.excluded_operations()
        if skipped or excluded:
            out += ["", "NOT TESTED"]
            for operation_id, reason in excluded.items():
                op = run.facts.operation(operation_id)
                out.append(f"  {op.label} (schemathesis): not sent for safety, {reason}")
            reasons = Counter(_skip_kind(o.message) for o in skipped)
            for o in skipped:
                out.append(f"  {o.nodeid.split('::')[-1]}: {o.message}")
            if reasons.get("time"):
                out.append(
                    f"  ({reasons['time']} left untested for lack of time: raise --esdc-budget"
                    + (
                        ", or drop --esdc-require-complete)"
                        if run.settings.require_complete
                        else ")"
                    )
                )
        for note in ledger.notes:
            out.append(f"note: {note}")
        return out

    def as_json(self) -> dict[str, Any]:
        run = self.run
        return {
            "target": {"url": run.target.base_url, "description": run.target.description},
            "seed": run.settings.seed,
            "profile": run.settings.profile,
            "requests": dict(run.ledger.requests),
            "elapsed": round(run.budget.elapsed(), 2),
            "throttle": {
                "waited": round(run.pacer.waited, 1),
                "answered_429": run.pacer.throttled,
                "learned": run.pacer.learned,
            },
            "plan": {
                name: {"tests": part.tests, "requests": part.total, "fits": round(part.fits, 2)}
                for name, part in (run.plan.parts.items() if run.plan else ())
            },
            "judged": dict(sorted(run.ledger.judged.items())),
            "outcomes": [
                {
                    "test": o.nodeid,
                    "check": o.check,
                    "rules": o.rules,
                    "outcome": o.outcome,
                    "message": o.message,
                    "replays": o.replays,
                    "schemathesis_checks": o.checks,
                    "rerun": self.rerun_command(o.nodeid)
                    if o.outcome in ("failed", "error")
                    else None,
                }
                for o in self.outcomes.values()
            ],
            "failed_checks": sorted(
                {
                    c
                    for o in self.outcomes.values()
                    if o.outcome in ("failed", "error")
                    for c in (o.checks or [o.check])
                }
            ),
            "failed_rules": sorted(
                {
                    r
                    for o in self.outcomes.values()
                    if o.outcome in ("failed", "error")
                    for r in o.rules
                }
            ),
            "known_defects": {
                name: {"count": seen.count, "summary": seen.defect.summary, "example": seen.example}
                for name, seen in run.ledger.defects.items()
            },
            "deviations": {
                name: {"count": e.count, "description": e.rule.description, "example": e.example}
                for name, e in run.ledger.excused.items()
                if e.rule.kind == "deviation"
            },
            "allowances": {
                name: e.count
                for name, e in run.ledger.excused.items()
                if e.rule.kind == "allowance"
            },
            "not_sent_for_safety": run.excluded_operations(),
            "untested": {
                o.nodeid.split("::")[-1]: o.message
                for o in self.outcomes.values()
                if o.outcome == "skipped"
            },
            "notes": run.ledger.notes,
        }


def _is_schemathesis(nodeid: str) -> bool:
    return nodeid.split("::")[0].endswith("test_schema.py")


def _skip_kind(reason: str) -> str:
    if "time budget" in reason:
        return "time"
    if reason.startswith("safety"):
        return "safety"
    if reason.startswith("throttled"):
        return "throttle"
    return "other"


def _wrap(text: str, width: int = 88, indent: str = "            ") -> str:
    words, lines, line = text.split(", "), [], ""
    for word in words:
        candidate = f"{line}, {word}" if line else word
        if len(candidate) > width and line:
            lines.append(line + ",")
            line = word
        else:
            line = candidate
    lines.append(line)
    return f"\n{indent}".join(lines)


def _first_lines(text: str, count: int = 6) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    for index, line in enumerate(lines):
        if (
            line.lstrip().startswith(("E ", "ContractViolation", "AssertionError"))
            or "Schemathesis found" in line
        ):
            return "\n".join(
                line.strip().removeprefix("E").strip() for line in lines[index : index + count]
            )
    return "\n".join(lines[-count:])
