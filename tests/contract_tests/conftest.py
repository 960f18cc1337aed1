"""Fixtures of the contract suite's own tests: running the suite, in this process."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import contract_tests

SUITE = Path(contract_tests.__file__).parent
#: The small, fast profile the drift tests run: few generated examples, a fixed seed.
QUICK = ("--esdc-profile=quick", "--esdc-seed=1", "-p", "no:cacheprovider", "-q", "-c", os.devnull)


@dataclass
class SuiteRun:
    """The outcome of one run of the contract suite."""

    ret: int
    report: dict[str, Any]
    output: str

    @property
    def failed_checks(self) -> list[str]:
        return list(self.report["failed_checks"])


def _forget_the_suite() -> None:
    # The suite builds its schemas when its modules are imported, from the run's options:
    # each run must import them afresh. (pytester's snapshot of sys.modules would also drop
    # schemathesis modules imported lazily, and a second import of those breaks isinstance.)
    for name in [m for m in sys.modules if m.startswith("contract_tests.")]:
        del sys.modules[name]


@pytest.fixture
def run_suite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Callable[..., SuiteRun]:
    """Run the contract suite in this process with more options, and read its JSON report."""

    def run(*args: str, base: tuple[str, ...] = QUICK) -> SuiteRun:
        report = tmp_path / "esdc-report.json"
        report.unlink(missing_ok=True)
        path = list(sys.path)
        _forget_the_suite()
        try:
            ret = pytest.main(
                [
                    str(SUITE),
                    "--rootdir",
                    str(tmp_path),
                    *base,
                    f"--esdc-report-json={report}",
                    *args,
                ]
            )
        finally:
            _forget_the_suite()
            sys.path[:] = path
        body = json.loads(report.read_text()) if report.exists() else {"failed_checks": []}
        return SuiteRun(int(ret), body, capsys.readouterr().out)

    return run
