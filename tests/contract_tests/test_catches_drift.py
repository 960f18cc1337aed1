"""The contract suite catches drift: against each deliberately broken reference server it
fails, names the check aimed at the defect and says what broke; against the faithful one, and
against one that behaves as real deployments do where the spec allows it, it passes."""

from __future__ import annotations

from typing import Any

import pytest

from tests.contract_tests.broken import VARIANTS, all_variants
from tests.contract_tests.proxy import Variant

EVERY = all_variants()


def test_suite_passes_on_the_faithful_reference_server(run_suite: Any) -> None:
    run = run_suite("--esdc-app=tests.contract_tests.broken:faithful")
    assert run.ret == 0, run.output[-4000:]
    assert run.failed_checks == []


@pytest.mark.parametrize("variant", EVERY, ids=lambda variant: variant.name)
def test_suite_fails_on_a_broken_server_naming_the_check(run_suite: Any, variant: Variant) -> None:
    run = run_suite(f"--esdc-app={variant.app}", *variant.args)
    assert run.ret == 1, run.output[-4000:]
    assert variant.check in run.failed_checks, (
        f"{variant.name} ({variant.factory.__doc__}) should fail {variant.check}; "
        f"failed {run.failed_checks}\n{run.output[-3000:]}"
    )
    assert variant.message in run.output, run.output[-4000:]


def test_the_throttle_check_passes_on_a_server_that_throttles_as_real_ones(run_suite: Any) -> None:
    run = run_suite(
        "--esdc-app=tests.contract_tests.broken_eyes:faithful_throttled",
        "--esdc-check-throttle",
        "-k",
        "throttle",
    )
    assert run.ret == 0, run.output[-4000:]
    assert "the throttle answered 429 after 31 failed logins in a row" in run.output


def test_an_auth_probe_that_is_throttled_is_not_called_an_authentication_problem(
    run_suite: Any,
) -> None:
    run = run_suite(
        "--esdc-app=tests.contract_tests.broken_eyes:auth_probe_throttled", "-k", "credentials"
    )
    assert "missing_or_bad_credentials_get_403_with_the_real_detail" not in run.failed_checks
    assert "throttled: GET /api/task/ was answered 429 after 4 waits" in run.output


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


def test_there_are_ten_new_variants_of_issue_11_and_one_per_item_of_issue_16() -> None:
    from tests.contract_tests import broken_eyes, broken_upgrades

    assert len(VARIANTS) == 19
    assert len(broken_upgrades.VARIANTS) >= 10
    assert len(broken_eyes.VARIANTS) >= 14
    assert len({v.name for v in EVERY}) == len(EVERY)


def test_suite_passes_on_a_server_that_answers_as_real_deployments_do(run_suite: Any) -> None:
    """es_* headers only where real deployments send them, paging links as they build them,
    a task stepping back in the callback phase, a cancel answering 201, the 500s of 4.6."""
    run = run_suite("--esdc-app=tests.contract_tests.as_real:behaves_as_real")
    assert run.ret == 0, run.output[-4000:]
    assert set(run.report["known_defects"]) >= {"dc-not-ascii", "dc-nul", "object-name-nul"}
    assert "KNOWN DEFECTS OF 4.6 (bugs of that version" in run.output


def test_known_defects_fail_a_strict_run(run_suite: Any) -> None:
    run = run_suite(
        "--esdc-app=tests.contract_tests.as_real:behaves_as_real", "--esdc-strict", "-k", "defect"
    )
    assert run.ret == 1
    assert "known_defects_fail_a_strict_run" in run.failed_checks
    assert "the deployment has 3 known defect(s) of 4.6, which --esdc-strict fails" in run.output


def test_the_summary_says_how_many_answers_each_rule_judged(run_suite: Any) -> None:
    run = run_suite(
        "--esdc-app=tests.contract_tests.as_real:behaves_as_real", "-k", "peer or log_links"
    )
    judged = run.report["judged"]
    assert judged["peer-isolation"] >= 8 and judged["log-links"] >= 1 and judged["es-headers"] > 0
    assert "judged      " in run.output and "peer-isolation " in run.output
