"""The contract suite catches drift: against each deliberately broken reference server it
fails and names the check aimed at the defect; against the faithful one it passes."""

from __future__ import annotations

from typing import Any

import pytest

from tests.contract_tests.broken import VARIANTS, Variant


def test_suite_passes_on_the_faithful_reference_server(run_suite: Any) -> None:
    run = run_suite("--esdc-app=tests.contract_tests.broken:faithful")
    assert run.ret == 0, run.output[-4000:]
    assert run.failed_checks == []


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda variant: variant.name)
def test_suite_fails_on_a_broken_server_naming_the_check(run_suite: Any, variant: Variant) -> None:
    run = run_suite(f"--esdc-app=tests.contract_tests.broken:{variant.name}")
    assert run.ret == 1, run.output[-4000:]
    assert variant.check in run.failed_checks, (
        f"{variant.name} ({variant.factory.__doc__}) should fail {variant.check}; "
        f"failed {run.failed_checks}"
    )


def test_documented_deviations_do_not_fail_a_run_and_are_reported(run_suite: Any) -> None:
    run = run_suite("--esdc-app=tests.contract_tests.broken:documented_deviations")
    assert run.ret == 0, run.output[-4000:]
    assert set(run.report["deviations"]) == {
        "not-routed-404-labelled-json",
        "lenient-booleans",
        "cancel-body-ignored",
    }
    assert "KNOWN DEVIATIONS (documented in the spec; not failures)" in run.output


def test_a_run_whose_key_is_refused_fails(run_suite: Any) -> None:
    run = run_suite("--esdc-api-key=not-a-key")
    assert run.ret == 1
    assert "authenticated_requests_succeed" in run.failed_checks


def test_there_are_at_least_15_broken_variants() -> None:
    assert len({v.name for v in VARIANTS}) >= 15
