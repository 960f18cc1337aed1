"""The plugin: loaded for the contract suite only, the target and seed in the header, the last
seed repeated, a time budget honoured and reported, a JUnit report with the target."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def _help(*args: str) -> str:
    return subprocess.run(
        [sys.executable, "-m", "pytest", *args, "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def test_the_plugin_is_loaded_for_the_contract_suite_only() -> None:
    assert "--esdc-url" not in _help()
    assert "--esdc-url" in _help("contract_tests")


def test_the_header_shows_the_target_and_the_seed(run_suite: Any) -> None:
    run = run_suite("--collect-only", "-v")
    assert "esdc: target the reference server in-process (http://testserver/api)" in run.output
    assert "esdc: seed 1 (repeat with --esdc-seed 1 or --esdc-seed last)" in run.output


def test_seed_last_repeats_the_previous_runs_seed(run_suite: Any) -> None:
    base = ("-c", os.devnull, "--collect-only", "-v")
    run_suite("--esdc-seed=4242", base=base)
    again = run_suite("--esdc-seed=last", base=base)
    assert "esdc: seed 4242" in again.output


def test_a_short_budget_skips_what_it_leaves_untested_and_says_so(run_suite: Any) -> None:
    run = run_suite("--esdc-budget=1", "--esdc-app=tests.contract_tests.as_real:behaves_as_real")
    assert run.ret == 0, run.output[-3000:]
    skipped = [o for o in run.report["outcomes"] if o["outcome"] == "skipped"]
    assert skipped and any("time budget of 1 s" in o["message"] for o in skipped)
    assert "left untested for lack of time: raise --esdc-budget" in run.output
    assert "esdc: plan: budget 1 s" in run.output


def test_require_complete_fails_a_run_the_budget_cut_short(run_suite: Any) -> None:
    run = run_suite(
        "--esdc-budget=1",
        "--esdc-require-complete",
        "--esdc-app=tests.contract_tests.as_real:behaves_as_real",
    )
    assert run.ret == 1
    assert "or drop --esdc-require-complete" in run.output


def test_the_junit_report_names_the_target_and_the_seed(run_suite: Any, tmp_path: Path) -> None:
    junit = tmp_path / "junit.xml"
    run = run_suite(f"--junitxml={junit}", "-k", "credentials")
    assert run.ret == 0, run.output[-3000:]
    xml = junit.read_text()
    assert '<property name="esdc_target" value="http://testserver/api"' in xml
    assert '<property name="esdc_seed" value="1"' in xml
    assert (
        'name="test_missing_or_bad_credentials_get_403_with_the_real_detail[no credentials]"' in xml
    )
