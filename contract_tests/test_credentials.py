"""Credentials and task ids: what a caller without a valid key, or with an id that is not one,
is told (always 403 with the real message, never 401 and never 404), and the one answer each
kind of well-formed id that is no running task gets: an unknown id of the caller's, a dummy
id."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from contract_tests.client import Client, Exchange
from contract_tests.deviations import NOT_ROUTED_AS_JSON, Answer
from contract_tests.errors import ContractViolation
from contract_tests.facts import TASK_ID_PARTS, Operation, dummy_group
from contract_tests.run import Run
from contract_tests.tasks import Tasks

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


def _spread(run: Run, operations: list[Operation], index: int) -> list[Operation]:
    """Against a throttled deployment, the first of a kind of id on every operation and each
    other on one, in turn: they are all refused by the same check, and the throttle's minute
    is better spent elsewhere. In-process, every id on every operation."""
    if run.target.is_in_process or index == 0:
        return operations
    return [operations[index % len(operations)]]


CREDENTIALS = {
    # name: (headers, the spec's example that holds the detail)
    "no credentials": ({}, "noCredentials"),
    "an unknown API key": ({"ES-API-KEY": "esdc-contract-no-such-key"}, "invalidApiKey"),
    "an unknown token": ({"Authorization": "Token esdc-contract-no-such-token"}, "invalidToken"),
}


@pytest.mark.esdc_check("credentials-403", anonymous=10)
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


@pytest.mark.esdc_check("login-failed-400", anonymous=1)
def test_failed_login_is_400_unable_to_log_in(esdc_run: Run, anonymous: Client) -> None:
    expected = esdc_run.facts.example("login", 400, "loginFailed")
    exchange = anonymous.post(
        "/accounts/login/", json={"username": "esdc-contract-nobody", "password": "not-a-password"}
    )
    if exchange.status != 400 or exchange.json() != expected:
        raise ContractViolation(f"a failed login must answer 400 {expected}", exchange)


@pytest.mark.esdc_check("malformed-task-id", plain=2)
@pytest.mark.parametrize("task_id", list(MALFORMED_IDS))
def test_malformed_task_ids_are_permission_denied(
    esdc_run: Run, plain: Client, task_id: str
) -> None:
    invalid = esdc_run.facts.malformed_task_id
    operations = _readable_operations(esdc_run)
    if esdc_run.may_write_freely:  # elsewhere an old deployment might read a legacy id as a task
        operations += [esdc_run.facts.operation("taskCancel")]
    wrong = []
    for op in _spread(esdc_run, operations, list(MALFORMED_IDS).index(task_id)):
        exchange = plain.request(op.method, _path(op, task_id))
        if exchange.status != invalid.status or exchange.json() != {"detail": invalid.detail}:
            wrong.append(exchange)
    if wrong:
        raise ContractViolation(
            f"{task_id!r} ({MALFORMED_IDS[task_id]}) is not a task id: the spec's answer is "
            f'{invalid.status} {{"detail": {invalid.detail!r}}}',
            *wrong[:4],
        )


@pytest.mark.esdc_check("task-id-not-routed", plain=2)
@pytest.mark.parametrize("task_id", ODD_IDS)
def test_task_ids_with_odd_characters_match_no_url(
    esdc_run: Run, plain: Client, task_id: str
) -> None:
    facts = esdc_run.facts
    operations = _readable_operations(esdc_run)
    for op in _spread(esdc_run, operations, ODD_IDS.index(task_id)):
        exchange = plain.request(op.method, _path(op, task_id))
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
        text = (exchange.header("content-type") or "").startswith("text/plain")
        if exchange.status != 404 or not text or exchange.text.strip() != facts.not_routed_body:
            raise ContractViolation(
                f"{task_id!r} has characters outside {facts.task_id_url_pattern.pattern}: no URL "
                f"matches, and the answer is the plain-text 404 {facts.not_routed_body!r}",
                exchange,
            )


def _own_prefix(esdc_run: Run, user: Client, tasks: Tasks) -> tuple[str, str] | None:
    """The user's id and datacenter id as the user's own task ids spell them."""
    if esdc_run.control is not None:
        task_id = tasks.make(queued=600, runs=60)
    else:
        exchange = user.get("/task/log/", page=1)
        body = exchange.json() if exchange.status == 200 else None
        name = exchange.header("es_username")
        entries = body.get("results", []) if isinstance(body, dict) else []
        # the entries the user wrote, not those an admin wrote about the user's objects
        own = [str(e.get("task")) for e in entries if name and e.get("username") == name]
        found = Counter(m["creator"] + " " + m["dc"] for t in own if (m := TASK_ID_PARTS.match(t)))
        if not found:
            return None
        creator, dc = found.most_common(1)[0][0].split()
        return creator, dc
    match = TASK_ID_PARTS.match(task_id)
    assert match is not None, task_id
    return match["creator"], match["dc"]


def _wanted(facts: Any, operation_id: str, kind: str, task_id: str) -> tuple[int, Any]:
    """The one answer ``operation_id`` gives an ``unknown`` or ``dummy`` id of the caller's."""
    if kind == "dummy":
        if operation_id in ("taskStatus", "taskState", "taskDone"):
            return 404, {"detail": facts.detail("taskStatus", 404, "dummyTask")}
        if operation_id == "taskCancel":
            return 406, {"detail": facts.detail("taskCancel", 406, "cannotCancel")}
        return 404, {"detail": facts.detail("taskDetails", 404, "taskNotFound")}
    if operation_id in ("taskStatus", "taskState"):
        return 201, {"status": "PENDING", "result": None, "task_id": task_id}
    if operation_id == "taskDone":
        return 201, {"done": False, "task_id": task_id}
    if operation_id == "taskCancel":
        return 406, {"detail": facts.detail("taskCancel", 406, "cannotCancel")}
    return 404, {"detail": facts.detail("taskDetails", 404, "taskNotFound")}


@pytest.mark.esdc_check("task-id-answers", user=11)
def test_unknown_and_dummy_ids_get_their_one_answer(
    esdc_run: Run, user: Client, tasks: Tasks
) -> None:
    """An id the deployment never saw reads PENDING and is no running task; a dummy id (a
    synchronous call's: the md5 of its creator) is 404 "Task does not exist (anymore)"."""
    prefix = _own_prefix(esdc_run, user, tasks)
    if prefix is None:
        pytest.skip("the user's log holds no task of the user's own to take the id prefix from")
    creator, dc = prefix
    ids = {
        "unknown": f"{creator}e{creator}d{dc}-deadbeef-0000-4000-8000",
        "dummy": f"{creator}e{creator}d{dc}-{dummy_group(creator)}-1234-4abc-8def",
    }
    operations = _readable_operations(esdc_run)
    if esdc_run.may_write_freely:  # elsewhere nothing that might be a task is cancelled
        operations += [esdc_run.facts.operation("taskCancel")]
    for kind, task_id in ids.items():
        for op in operations:
            exchange = user.request(op.method, _path(op, task_id))
            status, body = _wanted(esdc_run.facts, op.operation_id, kind, task_id)
            if exchange.status != status or exchange.json() != body:
                what = (
                    "an id of the user's that the deployment never saw"
                    if kind == "unknown"
                    else "a dummy id of the user's (its first group is the md5 of the creator)"
                )
                raise ContractViolation(
                    f"{op.label} of {task_id} ({what}) answered {exchange.status}; its one "
                    f"answer is {status} {body}",
                    exchange,
                )
