"""Wall times of two other jobs of the toolkit, when this checkout has them: the contract suite
against the in-process reference server, and the docs build."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.servers import ROOT


@dataclass
class Timing:
    name: str
    command: str
    seconds: float | None  # None: not available in this checkout
    outcome: str

    def row(self) -> list[str]:
        if self.seconds is None:
            return [self.name, "not available", self.outcome, self.command]
        return [self.name, f"{self.seconds:.1f}", self.outcome, self.command]


def _timed(name: str, command: list[str], shown: str) -> Timing:
    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False)
    seconds = time.monotonic() - started
    lines = (done.stdout + done.stderr).strip().splitlines()
    outcome = "ok" if done.returncode == 0 else f"exit {done.returncode}"
    if lines:
        outcome += f": {lines[-1].strip('= ')[:80]}"
    return Timing(name, shown, seconds, outcome)


def contract_suite() -> Timing:
    shown = "pytest contract_tests"
    if not (ROOT / "contract_tests").is_dir():
        return Timing("contract suite", shown, None, "no contract_tests/ in this checkout")
    command = [sys.executable, "-m", "pytest", "contract_tests", "-q", "-p", "no:cacheprovider"]
    return _timed("contract suite", command, shown)


def docs_build() -> Timing:
    shown = "esdc-api docs -o DIR"
    probe = subprocess.run(
        [sys.executable, "-m", "esdc_api", "docs", "--help"],
        capture_output=True,
        cwd=ROOT,
        check=False,
    )
    if probe.returncode != 0:
        return Timing("docs build", shown, None, "no `esdc-api docs` in this checkout")
    with tempfile.TemporaryDirectory() as out:
        return _timed(
            "docs build",
            [sys.executable, "-m", "esdc_api", "docs", "-o", str(Path(out) / "site")],
            shown,
        )
