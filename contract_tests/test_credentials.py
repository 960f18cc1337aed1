"""Credentials and task ids: what a caller without a valid key, or with an id that is not one,
is told. Always 403 with the real message, never 401 and never 404."""

from __future__ import annotations

import pytest

from contract_tests.client import Client, Exchange
from contract_tests.deviations import NOT_ROUTED_AS_JSON, Answer
from contract_tests.errors import ContractViolation
from contract_tests.facts import Operation
from contract_tests.run import Run

#: A well-formed id of no real task (datacenter 0 does not exist): safe to send anything for.
NOBODYS_TASK = "0e0d0-00000000-0000-0000-0000"

#: Ids a deployment must refuse as malformed, and what is wrong with each.
MALFORMED_IDS = {
    "0-4b48594c-2d77-4b72-a1e1": "the legacy <user>-<uuid> form of the old reference page",
    "1e1-4b48594c-2d77-4b72-a1e1": "the legacy form without owner, group and datacenter",
    "3e3d1-8c2f4a17-5b3e-4d21": "three groups after the prefix instead of four",
    "3e3d1-8c2f4a17-5b3e-4d21-a9f0-77aa": "five groups after the prefix",
    "3e3d1-8c2f4a1-5b3e-4d21-a9f0": "a first group of 7 characters",
    "3x3d1-8c2f4a17-5b3e-4d21-a9f0": "an unknown task type letter",
    "3e3x1-8c2f4a17-5b3e-4d21-a9f0": "an unknown task group letter",
    "3E3d1-8c2f4a17-5b3e-4d21-a9f0": "an upper-case task type letter",
    "e3d1-8c2f4a17-5b3e-4d21-a9f0": "no creator",
    "3e3d999999-8c2f4a17-5b3e-4d21-a9f0": "a datacenter that does not exist",
}
#: Ids with characters no URL of the API accepts.
ODD_IDS = ("3e3d1_8c2f4a17", "3e3d1.8c2f4a17-5b3e", "3e3d1~8c2f")


def _path(op: Operation, task_id: str) -> str:
    return op.path.replace("{task_id}", task_id)


def _readable_operations(run: Run) -> list[Operation]:
    return [
        op for op in run.facts.operations.values() if op.method == "GET" and "{task_id}" in op.path
    ]


CREDENTIALS = {
    # name: (headers, the spec's example that holds the detail)
    "no credentials": ({}, "noCredentials"),
    "an unknown API key": ({"ES-API-KEY": "esdc-contract-no-such-key"}, "invalidApiKey"),
    "an unknown token": ({"Authorization": "Token esdc-contract-no-such-token"}, "invalidToken"),
}


@pytest.mark.parametrize("credentials", list(CREDENTIALS))
def test_missing_or_bad_credentials_get_403_with_the_real_detail(
    esdc_run: Run, anonymous: Client, credentials: str
) -> None:
    headers, example = CREDENTIALS[credentials]
    detail = esdc_run.facts.detail("taskList", 403, example)
    wrong: list[Exchange] = []
    for op in esdc_run.facts.operations.values():
        if op.is_public:
            continue
        # Without valid credentials nothing can change: sending cancel and delete is safe.
        exchange = anonymous.request(op.method, _path(op, NOBODYS_TASK), headers=headers)
        if exchange.status != 403 or exchange.json() != {"detail": detail}:
            wrong.append(exchange)
    if wrong:
        raise ContractViolation(
            f'with {credentials} every operation must answer 403 {{"detail": {detail!r}}} '
            f"(403, never 401); {len(wrong)} did not",
            *wrong[:4],
        )


def test_failed_login_is_400_unable_to_log_in(esdc_run: Run, anonymous: Client) -> None:
    expected = esdc_run.facts.example("login", 400, "loginFailed")
    exchange = anonymous.post(
        "/accounts/login/", json={"username": "esdc-contract-nobody", "password": "not-a-password"}
    )
    if exchange.status != 400 or exchange.json() != expected:
        raise ContractViolation(f"a failed login must answer 400 {expected}", exchange)


@pytest.mark.parametrize("task_id", list(MALFORMED_IDS))
def test_malformed_task_ids_are_permission_denied(
    esdc_run: Run, user: Client, task_id: str
) -> None:
    invalid = esdc_run.facts.malformed_task_id
    operations = _readable_operations(esdc_run)
    if esdc_run.may_write_freely:  # elsewhere an old deployment might read a legacy id as a task
        operations += [esdc_run.facts.operation("taskCancel")]
    wrong = []
    for op in operations:
        exchange = user.request(op.method, _path(op, task_id))
        if exchange.status != invalid.status or exchange.json() != {"detail": invalid.detail}:
            wrong.append(exchange)
    if wrong:
        raise ContractViolation(
            f"{task_id!r} ({MALFORMED_IDS[task_id]}) is not a task id: the spec's answer is "
            f'{invalid.status} {{"detail": {invalid.detail!r}}}',
            *wrong[:4],
        )


@pytest.mark.parametrize("task_id", ODD_IDS)
def test_task_ids_with_odd_characters_match_no_url(
    esdc_run: Run, user: Client, task_id: str
) -> None:
    facts = esdc_run.facts
    for op in _readable_operations(esdc_run):
        exchange = user.request(op.method, _path(op, task_id))
        answer = Answer(
            op.operation_id,
            {"task_id": task_id},
            {},
            frozenset(),
            exchange.status,
            exchange.header("content-type") or "",
            exchange.text,
        )
        if NOT_ROUTED_AS_JSON.applies(answer, facts):
            esdc_run.ledger.excuse(NOT_ROUTED_AS_JSON, exchange.summary(120))
            continue
        plain = (exchange.header("content-type") or "").startswith("text/plain")
        if exchange.status != 404 or not plain or exchange.text.strip() != facts.not_routed_body:
            raise ContractViolation(
                f"{task_id!r} has characters outside {facts.task_id_url_pattern.pattern}: no URL "
                f"matches, and the answer is the plain-text 404 {facts.not_routed_body!r}",
                exchange,
            )
