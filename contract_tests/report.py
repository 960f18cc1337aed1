"""The run's summary: target, seed, what was tested, what failed and how to replay it, the
known deviations, and what was skipped and why. Printed at the end of the terminal report and
optionally written as JSON (``--esdc-report-json``)."""

from __future__ import annotations

import re
import shlex
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pytest

from contract_tests.run import Run

_CURL = re.compile(r"(?:replay: |^\s*)(curl .+)$", re.MULTILINE)


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

    @property
    def check(self) -> str:
        """The check's name: the test's, or schemathesis's checks for one operation."""
        if self.checks:
            return ", ".join(self.checks)
        return self.name.removeprefix("test_").split("[")[0]


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
        entry = Outcome(report.nodeid, name, outcome)
        if outcome in ("failed", "error"):
            entry.message = message or _first_lines(text)
            entry.replays = replays or list(dict.fromkeys(_CURL.findall(text)))[:3]
            entry.answers = answers or []
            entry.checks = sorted(self.run.ledger.failed_checks.get(report.nodeid, ()))
        elif outcome == "skipped":
            entry.message = text
        self.outcomes[report.nodeid] = entry

    # -- rendering ------------------------------------------------------------------------

    def rerun_command(self, nodeid: str = "contract_tests") -> str:
        settings = self.run.settings
        target = (
            f"--esdc-url {settings.base_url}" + (" --esdc-reference" if settings.reference else "")
            if settings.base_url
            else (f"--esdc-app {settings.app}" if settings.app else "")
        )
        return " ".join(
            ["pytest", shlex.quote(nodeid), target, f"--esdc-seed {settings.seed}"]
        ).replace("  ", " ")

    def lines(self) -> list[str]:
        run, ledger = self.run, self.run.ledger
        counts = Counter(o.outcome for o in self.outcomes.values())
        failures = counts.get("failed", 0) + counts.get("error", 0)
        coverage = run.settings.profile_values.coverage
        phases = "examples, coverage and fuzzing" if coverage else "examples and fuzzing"
        seed = run.settings.seed
        schema_tests = [o for o in self.outcomes.values() if _is_schemathesis(o.nodeid)]
        named = [o for o in self.outcomes.values() if not _is_schemathesis(o.nodeid)]
        out = [
            f"target      {run.target.description} ({run.target.base_url})",
            f"seed        {seed}   (again: --esdc-seed {seed}, or --esdc-seed last)",
            f"tested      {len(schema_tests)} schemathesis tests (every operation through the "
            f"{phases} phases, then stateful; profile {run.settings.profile}) and "
            f"{len(named)} named checks; {sum(ledger.requests.values())} requests in "
            f"{run.budget.elapsed():.1f} s"
            + (f", {run.pacer.waited:.0f} s waiting for the throttle" if run.pacer.waited else ""),
            f"result      {counts.get('passed', 0)} passed, {failures} failed, "
            f"{counts.get('skipped', 0)} skipped",
        ]
        failed = [o for o in self.outcomes.values() if o.outcome in ("failed", "error")]
        if failed:
            out.append("")
            out.append("FAILED")
            for o in failed:
                out.append(f"  {o.check}: {o.message.splitlines()[0] if o.message else o.outcome}")
                out.append(f"    test:   {o.nodeid}")
                for answer in o.answers:
                    out.append(f"    got:    {answer}")
                # an in-process target has no address: the rerun is the replay there
                label = "request" if run.target.is_in_process else "replay"
                for replay in o.replays:
                    out.append(f"    {label}: {replay}")
                for line in o.message.splitlines()[1:4]:
                    out.append(f"            {line}")
                out.append(f"    rerun:  {self.rerun_command(o.nodeid)}")
        deviations = [e for e in ledger.excused.values() if e.rule.kind == "deviation"]
        if deviations:
            out.append("")
            out.append("KNOWN DEVIATIONS (documented in the spec; not failures)")
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
            out.append("")
            out.append("NOT TESTED")
            for operation_id, reason in excluded.items():
                op = run.facts.operation(operation_id)
                out.append(f"  {op.label} (schemathesis): not sent for safety, {reason}")
            reasons = Counter(_skip_kind(o.message) for o in skipped)
            for o in skipped:
                out.append(f"  {o.nodeid.split('::')[-1]}: {o.message}")
            if reasons.get("time"):
                out.append(
                    f"  ({reasons['time']} left untested for lack of time: raise --esdc-budget)"
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
            "outcomes": [
                {
                    "test": o.nodeid,
                    "check": o.check,
                    "outcome": o.outcome,
                    "message": o.message,
                    "replays": o.replays,
                    "schemathesis_checks": o.checks,
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
            "notes": run.ledger.notes,
        }


def _is_schemathesis(nodeid: str) -> bool:
    return nodeid.split("::")[0].endswith("test_schema.py")


def _skip_kind(reason: str) -> str:
    if "time budget" in reason:
        return "time"
    if reason.startswith("safety"):
        return "safety"
    return "other"


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
