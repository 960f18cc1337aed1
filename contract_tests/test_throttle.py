"""The throttle: every 429 the run met says how long to wait, in the real words, and never
comes before the credentials are checked; with ``--esdc-check-throttle`` the suite provokes
one (failed logins of a user that does not exist, which need no credentials and change
nothing) and a deployment that never throttles fails."""

from __future__ import annotations

import pytest

from contract_tests.client import Client
from contract_tests.errors import ContractViolation
from contract_tests.pacing import Pacer
from contract_tests.run import Run
from contract_tests.test_answers import raise_findings

#: More failed logins than any throttle of the spec's allows in a window.
PROVOKE_AT_MOST = 70


def _provoke(esdc_run: Run) -> int:
    """Failed logins, unpaced, until one is throttled; how many were sent, or 0 if none was."""
    unpaced = Pacer(None, None, esdc_run.budget)
    unpaced.on_throttled = esdc_run.ledger.record_throttled
    client = Client(
        esdc_run.target.backend(),
        esdc_run.target.base_url,
        identity="anonymous",
        api_key=None,
        pacer=unpaced,
        on_exchange=esdc_run.ledger.record_exchange,
    )
    body = {"username": "esdc-contract-nobody", "password": "not-a-password"}
    for sent in range(1, PROVOKE_AT_MOST + 1):
        exchange = client.request("POST", "/accounts/login/", json=body, retries=0)
        if exchange.status == 429:
            return sent
    return 0


@pytest.mark.esdc_check("throttle-answer", part="whole run", anonymous=35, only_if="check_throttle")
def test_throttled_answers_say_when_to_retry(esdc_run: Run) -> None:
    if esdc_run.settings.check_throttle:
        sent = _provoke(esdc_run)
        if not sent:
            raise ContractViolation(
                f"{PROVOKE_AT_MOST} failed logins in a row were never throttled; deployments "
                "allow 30 requests a minute without credentials, then answer 429",
                rule="throttle-present",
            )
        esdc_run.ledger.note(f"the throttle answered 429 after {sent} failed logins in a row")
    raise_findings(esdc_run, "throttle-answer", "throttled without saying when to retry")
    if not esdc_run.ledger.judged.get("throttle-answer"):
        pytest.skip(
            "the run met no 429, and provoking one is off (--esdc-check-throttle, "
            "esdc-api check --check-throttle)"
        )


@pytest.mark.esdc_check("auth-before-throttle", part="whole run")
def test_credentials_are_checked_before_the_throttle(esdc_run: Run) -> None:
    raise_findings(
        esdc_run, "auth-before-throttle", "were throttled before their credentials were checked"
    )
