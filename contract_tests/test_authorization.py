"""Who may see and touch whose tasks: another plain user none of a user's, an admin of the
datacenter all of them; a user every task in their own list; statistics admins only."""

from __future__ import annotations

import pytest

from contract_tests.client import Client, Exchange
from contract_tests.errors import ContractViolation
from contract_tests.run import Run
from contract_tests.tasks import Tasks

READS = ("/task/{id}/", "/task/{id}/status/", "/task/{id}/state/", "/task/{id}/done/")


def safety_reason(esdc_run: Run, what: str) -> str:
    """Why a write check is skipped, and, against a reference server taken for a deployment,
    the option that would run it."""
    reason = f"safety: {what} --esdc-allow-cancel (esdc-api check --allow-cancel)"
    if esdc_run.looks_like_reference():
        reason += (
            "; the target is a reference server (its /control/ API answers): run with "
            "--esdc-reference (esdc-api check --reference) to test the authorization of writes"
        )
    return reason


def _denied(esdc_run: Run, exchange: Exchange) -> bool:
    detail = esdc_run.facts.malformed_task_id.detail  # the same "Permission denied"
    return exchange.status == 403 and exchange.json() == {"detail": detail}


@pytest.fixture(scope="module")
def plain_peer(esdc_run: Run, peer: Client) -> Client:
    """The peer, after making sure it is a plain user: an admin may see everything."""
    exchange = peer.get("/task/log/stats/")
    if exchange.status == 200:
        pytest.skip("the peer's key belongs to an admin; give another plain user's")
    return peer


@pytest.fixture(scope="module")
def users_tasks(esdc_run: Run, user: Client, tasks: Tasks) -> list[str]:
    """Running tasks of the user's, made for the purpose or found in their list."""
    if esdc_run.control is not None:
        return [tasks.make(queued=0, runs=None), tasks.make(queued=600, runs=60)]
    found = tasks.running()[:3] or tasks.logged()[:3]
    if not found:
        pytest.skip("the user has no tasks, running or logged, to guard")
    return found


@pytest.mark.esdc_check("peer-isolation", peer=8)
def test_peer_cannot_read_a_users_tasks(
    esdc_run: Run, plain_peer: Client, users_tasks: list[str]
) -> None:
    for task_id in users_tasks:
        for path in READS:
            exchange = plain_peer.get(path.format(id=task_id))
            if not _denied(esdc_run, exchange):
                what = (
                    "so another plain user could read it"
                    if 200 <= exchange.status < 300
                    else "which is not how a task of another user is refused"
                )
                raise ContractViolation(
                    f"another plain user's {path.format(id='{task_id}')} of task {task_id} of "
                    f"the user's answered {exchange.status} {exchange.text[:80]}, {what}; the "
                    "spec (x-permission UserTask) allows only its creator, the owner of its "
                    'object and admins, and answers anyone else 403 {"detail": "Permission '
                    'denied"}',
                    exchange,
                )


@pytest.mark.esdc_check("peer-isolation", user=1, peer=1)
def test_peer_cannot_list_a_users_tasks(
    user: Client, plain_peer: Client, users_tasks: list[str], tasks: Tasks
) -> None:
    listed = tasks.running(plain_peer)
    leaked = sorted(set(listed) & (set(tasks.running()) | set(users_tasks)))
    if leaked:
        raise ContractViolation(
            f"another plain user's task list holds {len(leaked)} task(s) of the user's "
            f"({', '.join(leaked[:3])}); plain users list only tasks on objects they own",
            plain_peer.get("/task/"),
        )


@pytest.mark.esdc_check("peer-isolation", user=1, peer=2)
def test_peer_cannot_see_a_users_log_entries(
    user: Client, plain_peer: Client, users_tasks: list[str], tasks: Tasks
) -> None:
    own = set(tasks.logged()) | set(users_tasks)
    for exchange in (plain_peer.get("/task/log/", page=1), plain_peer.get("/task/log/")):
        body = exchange.json() if exchange.status == 200 else None
        if not isinstance(body, dict):
            raise ContractViolation("the peer could not read its own task log", exchange)
        leaked = sorted({e.get("task") for e in body.get("results", [])} & own)
        if leaked:
            raise ContractViolation(
                f"another plain user's task log shows entries of the user's task(s) "
                f"{', '.join(leaked[:3])}; plain users see only entries about objects they own",
                exchange,
            )


@pytest.mark.esdc_check("write-authorization", peer=2)
def test_peer_cannot_cancel_a_users_tasks(
    esdc_run: Run, plain_peer: Client, users_tasks: list[str]
) -> None:
    if esdc_run.may_write_freely:
        targets = users_tasks
    else:
        targets = list(esdc_run.settings.allow_cancel)
        if not targets:
            pytest.skip(safety_reason(esdc_run, "tries to cancel only tasks named with"))
    for task_id in targets:
        exchange = plain_peer.put(f"/task/{task_id}/cancel/")
        if not _denied(esdc_run, exchange):
            raise ContractViolation(
                f"another plain user's cancel of task {task_id} was not refused; only its "
                "creator and admins may cancel a task (x-permission TaskCreator): "
                "403 Permission denied",
                exchange,
            )


@pytest.mark.esdc_check("admin-sees-all", user=1, admin=4)
def test_admin_can_read_and_list_a_users_tasks(
    esdc_run: Run, admin: Client, users_tasks: list[str], tasks: Tasks
) -> None:
    running = set(tasks.running())
    listed = set(tasks.running(admin))
    missing = sorted((running & set(users_tasks)) - listed)
    if missing:
        raise ContractViolation(
            f"the admin's task list lacks the user's running task(s) {', '.join(missing)}; "
            "an admin of the datacenter lists every user's tasks",
            admin.get("/task/"),
        )
    for task_id in users_tasks:
        exchange = admin.get(f"/task/{task_id}/status/")
        if _denied(esdc_run, exchange) or exchange.status not in {
            int(c) for c in esdc_run.facts.state_http_status.values()
        }:
            raise ContractViolation(f"an admin could not read the user's task {task_id}", exchange)
    if esdc_run.may_write_freely:
        cancel = admin.put(f"/task/{users_tasks[0]}/cancel/")
        state = cancel.json().get("status") if isinstance(cancel.json(), dict) else None
        codes = esdc_run.facts.state_http_status
        if state not in codes or cancel.status != codes[state] or state in ("SUCCESS", "FAILURE"):
            raise ContractViolation(
                f"an admin could not cancel the user's running task {users_tasks[0]}: cancel "
                "answers with the task's state (REVOKED 410, or 201 while it is still being "
                f"revoked), not {cancel.status}",
                cancel,
                rule="write-authorization",
            )


@pytest.mark.esdc_check("listed-tasks-readable", user=7)
def test_every_listed_task_is_readable_by_its_user(
    esdc_run: Run, user: Client, tasks: Tasks
) -> None:
    listed = tasks.running()
    if not listed:
        pytest.skip("the user's task list is empty")
    state_codes = {int(c) for c in esdc_run.facts.state_http_status.values()}
    for task_id in listed[:6]:
        status = user.get(f"/task/{task_id}/status/")
        if status.status not in state_codes:
            raise ContractViolation(
                f"task {task_id} is in the user's list, but they cannot read its state", status
            )
        details = user.get(f"/task/{task_id}/")
        if details.status != 200 and task_id in tasks.running():
            raise ContractViolation(
                f"task {task_id} is in the user's list, but they cannot read its details", details
            )


@pytest.mark.esdc_check("stats-admin-only", user=1, admin=1)
def test_stats_are_admin_only(esdc_run: Run, user: Client, admin: Client) -> None:
    refused = user.get("/task/log/stats/")
    if not _denied(esdc_run, refused):
        raise ContractViolation(
            "a plain user's request for the task log statistics was not refused with 403 "
            "Permission denied (x-permission Admin)",
            refused,
        )
    allowed = admin.get("/task/log/stats/")
    if allowed.status != 200:
        raise ContractViolation("an admin could not read the task log statistics", allowed)
