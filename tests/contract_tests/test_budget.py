"""``esdc-api check`` against a reference server with its throttle on, as a CI job would run it
against a deployment: it learns the throttle's rate, prints a plan and its progress, ends
within its budget and passes, listing what the budget left untested. Against the demo world,
and against the world recorded from Danube Cloud 4.6's own code
(``../shared/reference/real-4.6/``).

The servers throttle at the real number of requests per *second* instead of per minute
(``--user-rate 45/s``), and the budget is a tenth of the 540 s a CI job gives it: the same
plan, pacing and cut-off, sixty times faster, so that these tests take a minute and a half
rather than eighteen. The run at the real rates is measured, not tested: ``esdc-api check URL
--budget 540`` against ``esdc-api serve --throttle`` (figures in contract_tests/README.md).
How long a run took is in the report's JSON, not asserted."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.contract_tests.test_check_command import ESDC_API, ROOT, served

REAL = ROOT.parent / "shared" / "reference" / "real-4.6"
#: The moment the recorded world was read back (world.json's seeded_at).
RECORDED_AT = "2026-12-01T10:14:26.041843+00:00"
BUDGET = "54"
#: The real rates, per second instead of per minute (see the module's docstring).
FAST_THROTTLE = ("--throttle", "--user-rate", "45/s", "--anon-rate", "30/s")


def _check(
    url: str, keys: tuple[str, str, str], cwd: Path
) -> tuple[subprocess.CompletedProcess[str], dict]:
    report = cwd / "esdc-check.json"
    result = subprocess.run(
        [
            *ESDC_API,
            "check",
            url,
            "--api-key",
            keys[0],
            "--peer-api-key",
            keys[1],
            "--admin-api-key",
            keys[2],
            "--budget",
            BUDGET,
            "--report-json",
            str(report),
        ],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=900,
    )
    return result, json.loads(report.read_text()) if report.exists() else {}


def _assert_a_complete_ci_run(result: subprocess.CompletedProcess[str], report: dict) -> None:
    out = result.stdout
    assert result.returncode == 0, out[-8000:] + result.stderr[-2000:]
    assert f"esdc: plan: budget {BUDGET} s" in out
    assert "requests sent" in out  # progress while it ran
    assert "\nNOT TESTED\n" in out
    assert report["elapsed"] <= float(BUDGET) + 30
    assert report["failed_checks"] == []


def test_check_against_the_demo_world_with_its_throttle_passes_within_the_budget(
    tmp_path: Path,
) -> None:
    with served(*FAST_THROTTLE) as url:
        result, report = _check(url, ("demo-alice-key", "demo-bob-key", "demo-admin-key"), tmp_path)
    _assert_a_complete_ci_run(result, report)


def test_check_against_the_recorded_real_world_with_its_throttle_passes_within_the_budget(
    tmp_path: Path,
) -> None:
    world = json.loads((REAL / "world.json").read_text())
    keys = {user["username"]: user["api_key"] for user in world["users"]}
    options = (
        "--world",
        str(REAL / "world.json"),
        "--at",
        RECORDED_AT,
        "--scale",
        "0",
        *FAST_THROTTLE,
    )
    with served(*options) as url:
        result, report = _check(url, (keys["user1"], keys["user2"], keys["admin"]), tmp_path)
    _assert_a_complete_ci_run(result, report)
