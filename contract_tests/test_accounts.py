"""Logging in and out, on a reference server only: against a deployment a login would replace
the user's token and a logout delete it, ending the user's sessions, so neither is ever sent
there (a failed login of a user that does not exist is: see test_credentials)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from contract_tests.client import Client
from contract_tests.errors import ContractViolation
from contract_tests.run import Run

#: A token lives this long after the login (info: Authentication).
TOKEN_SECONDS = 3600


@pytest.mark.esdc_check("login-token", anonymous=4, user=1)
def test_a_login_token_works_for_an_hour_and_logout_ends_it(
    esdc_run: Run, user: Client, anonymous: Client
) -> None:
    reference = esdc_run.control
    if reference is None:
        pytest.skip(
            "safety: a login replaces the user's token and a logout deletes it, ending the "
            "user's sessions; sent only to reference servers (--esdc-reference, esdc-api check "
            "--reference)"
        )
    account = next((a for a in reference.accounts() if a["api_key"] == esdc_run.keys["user"]), None)
    if account is None or not account.get("password"):
        pytest.skip("the user's key belongs to no account of the reference server with a password")
    name = str(account["username"])
    credentials = {"username": name, "password": account["password"]}
    login = anonymous.post("/accounts/login/", json=credentials)
    body = login.json()
    if login.status != 200 or not isinstance(body, dict) or not body.get("token"):
        raise ContractViolation(f"{name} could not log in with the account's password", login)
    now = reference.now()
    expires = datetime.fromisoformat(str(body.get("expires")).replace("Z", "+00:00"))
    if now is not None and abs(expires - (now + timedelta(seconds=TOKEN_SECONDS))) > timedelta(
        seconds=2
    ):
        raise ContractViolation(
            f"the token expires {expires.isoformat()}; a token lives {TOKEN_SECONDS} s after the "
            f"login ({now.isoformat()} on the server's clock)",
            login,
        )
    token = {"Authorization": f"Token {body['token']}"}
    used = anonymous.request("GET", "/task/", headers=token)
    if used.status != 200 or used.header("es_username") != name:
        raise ContractViolation(f"the token of {name}'s login does not work as {name}", used)
    # logging out by API key ends no token (real deployments: request.auth is not a token)
    by_key = user.get("/accounts/logout/")
    still = anonymous.request("GET", "/task/", headers=token)
    if by_key.status != 200 or still.status != 200:
        raise ContractViolation(
            "a logout sent with the API key answers 200 and leaves the login's token alive",
            by_key,
            still,
        )
    logout = anonymous.request("GET", "/accounts/logout/", headers=token)
    after = anonymous.request("GET", "/task/", headers=token)
    invalid = {"detail": esdc_run.facts.detail("taskList", 403, "invalidToken")}
    if logout.status != 200 or after.status != 403 or after.json() != invalid:
        raise ContractViolation(
            f"a logout with the token must end it: afterwards the token is 403 {invalid}",
            logout,
            after,
        )
    again = anonymous.post("/accounts/login/", json=credentials).json() or {}
    token = {"Authorization": f"Token {again.get('token')}"}
    reference.advance(TOKEN_SECONDS + 1)
    expired = anonymous.request("GET", "/task/", headers=token)
    if expired.status != 403 or expired.detail not in esdc_run.ledger.judge.credential_details:  # type: ignore[union-attr]
        raise ContractViolation(
            f"a token {TOKEN_SECONDS + 1} s after its login has expired: 403 with the detail of "
            f"bad credentials, not {expired.status}",
            expired,
        )
    if login.header("es_username") != name:
        raise ContractViolation(
            f"a login answers with es_username naming the user who logged in ({name!r}), not "
            f"{login.header('es_username')!r}",
            login,
        )
