"""A task's state: every endpoint that tells it agrees, answers with that state's HTTP status
(TaskState.x-http-status in the spec), and the state never goes backwards."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pytest

from contract_tests.client import Client, Exchange
from contract_tests.deviations import BODY_IGNORED
from contract_tests.errors import ContractViolation
from contract_tests.facts import RESULT_EXPIRES_SECONDS, SpecFacts
from contract_tests.run import Run
from contract_tests.states import backward_steps
from contract_tests.tasks import Tasks

#: How often a read is repeated when the task changed state in the middle of it.
ATTEMPTS = 3


def _state(exchange: Exchange, facts: SpecFacts) -> str:
    body = exchange.json()
    if not isinstance(body, dict) or body.get("status") not in facts.state_http_status:
        raise ContractViolation(
            f"{exchange.method} {exchange.path} answered the task's own user without its state",
            exchange,
        )
    return str(body["status"])


def check_agreement(
    facts: SpecFacts, task_id: str, status: Exchange, alias: Exchange, done: Exchange
) -> None:
    """status, its /state/ alias and done tell the same state, each with the state's code."""
    state = _state(status, facts)
    code = int(facts.state_http_status[state])
    if status.status != code:
        raise ContractViolation(
            f"/status/ says task {task_id} is {state} but answered {status.status}; the spec "
            f"(TaskState.x-http-status) gives {state} the code {code}",
            status,
        )
    if alias.status != status.status or alias.json() != status.json():
        raise ContractViolation(
            f"/state/ (an alias of /status/) and /status/ disagree about task {task_id}",
            status,
            alias,
        )
    body = done.json()
    if (
        done.status != code
        or not isinstance(body, dict)
        or body.get("done") is not (state == "SUCCESS")
    ):
        raise ContractViolation(
            f"/status/ says task {task_id} is {state} ({code}), so /done/ should answer {code} "
            f"with done={'true' if state == 'SUCCESS' else 'false'}; it answered {done.status} "
            f"with {done.text[:100]}",
            status,
            done,
        )


def read_agreeing(user: Client, facts: SpecFacts, task_id: str) -> str:
    """Read a task's state three ways and check that they agree; returns the state.

    On a live deployment the task may move on between the reads: then they are repeated.
    """
    for _attempt in range(ATTEMPTS):
        status = user.get(f"/task/{task_id}/status/")
        alias = user.get(f"/task/{task_id}/state/")
        done = user.get(f"/task/{task_id}/done/")
        again = user.get(f"/task/{task_id}/status/")
        if again.status == status.status and again.json() == status.json():
            check_agreement(facts, task_id, status, alias, done)
            return _state(status, facts)
    raise ContractViolation(
        f"task {task_id} changed state during each of {ATTEMPTS} reads; cannot tell if its "
        "endpoints agree",
        status,
        again,
    )


def test_status_and_done_agree_with_the_state_table(
    esdc_run: Run, user: Client, tasks: Tasks
) -> None:
    facts = esdc_run.facts
    if esdc_run.control is not None:
        made = {
            "PENDING": tasks.make(queued=600, runs=60),
            "STARTED": tasks.make(queued=0, runs=None),
            "SUCCESS": tasks.make(queued=0, runs=0, result={"message": "done", "returncode": 0}),
            "FAILURE": tasks.make(queued=0, runs=0, outcome="FAILURE", result={"detail": "failed"}),
        }
        for expected, task_id in made.items():
            state = read_agreeing(user, facts, task_id)
            if state != expected:
                raise ContractViolation(
                    f"task {task_id} was made to be {expected} now but reads {state}",
                    user.get(f"/task/{task_id}/status/"),
                )
        return
    sample = tasks.sample()
    if not sample:
        pytest.skip("the user has no tasks, running or logged, to read")
    for task_id in sample:
        read_agreeing(user, facts, task_id)


def test_cancel_answers_like_status(esdc_run: Run, user: Client, tasks: Tasks) -> None:
    facts = esdc_run.facts
    cannot = facts.detail("taskCancel", 406, "cannotCancel")
    if esdc_run.control is not None:
        running, ended = tasks.make(queued=0, runs=None), tasks.make(queued=0, runs=0)
    elif esdc_run.settings.allow_cancel:
        running, ended = esdc_run.settings.allow_cancel[-1], None
    else:
        pytest.skip(
            "safety: cancels only tasks named with --esdc-allow-cancel "
            "(esdc-api check --allow-cancel)"
        )
    # First with a body that is not JSON: the reference server refuses it (400), real
    # deployments ignore it and cancel, a difference the spec documents.
    cancel = user.request(
        "PUT",
        f"/task/{running}/cancel/",
        content=b"force",
        headers={"Content-Type": "application/json"},
    )
    body = cancel.json()
    if cancel.status == 400 and not (isinstance(body, dict) and "status" in body):
        cancel = user.put(f"/task/{running}/cancel/")
    elif cancel.status != 406:
        esdc_run.ledger.excuse(BODY_IGNORED, cancel.summary(150))
    if cancel.status == 406:
        if cancel.json() != {"detail": cannot} or esdc_run.control is not None:
            raise ContractViolation(
                f"the user could not cancel their own running task {running}", cancel
            )
        state = read_agreeing(user, facts, running)  # it ended before the suite ran
        pytest.skip(f"task {running} had already ended ({state}); give a running one")
    state = _state(cancel, facts)
    if cancel.status != facts.state_http_status[state]:
        raise ContractViolation(
            f"cancel answered {cancel.status} with the task in state {state}, whose code is "
            f"{int(facts.state_http_status[state])}",
            cancel,
        )
    if esdc_run.control is not None and state != "REVOKED":
        raise ContractViolation(f"cancelling running task {running} left it {state}", cancel)
    after = read_agreeing(user, facts, running)
    if state == "REVOKED" and after != "REVOKED":
        raise ContractViolation(
            f"cancel said task {running} is REVOKED, status then says {after}", cancel
        )
    again = user.put(f"/task/{running}/cancel/")
    if ended is not None:
        again_ended = user.put(f"/task/{ended}/cancel/")
        for exchange in (again, again_ended):
            if exchange.status != 406 or exchange.json() != {"detail": cannot}:
                raise ContractViolation(
                    f'cancelling a task that has ended must answer 406 {{"detail": {cannot!r}}}',
                    exchange,
                )


def test_task_state_never_goes_backwards(esdc_run: Run, user: Client, tasks: Tasks) -> None:
    """Checked over every state answer of the run, after walking tasks through their lives on
    a reference server (where the clock can be moved past a result's expiry)."""
    control = esdc_run.control
    end_of: Callable[[str], datetime | None]
    if control is not None:
        lived = tasks.make(queued=30, runs=60)
        revoked = tasks.make(queued=0, runs=None)
        for seconds in (0, 30, 60, 30):
            tasks.advance(seconds)
            user.get(f"/task/{lived}/status/")
            user.get(f"/task/{lived}/done/")
        user.put(f"/task/{revoked}/cancel/")
        for seconds in (0, 120, RESULT_EXPIRES_SECONDS - 600):
            tasks.advance(seconds)
            user.get(f"/task/{revoked}/status/")
        tasks.advance(RESULT_EXPIRES_SECONDS)
        user.get(f"/task/{lived}/status/")  # expired: PENDING again, which is allowed
        end_of = control.ended_at
    else:
        seen = list(dict.fromkeys(o.task_id for o in esdc_run.ledger.observations))[:6]
        for task_id in seen:  # a second look at what the run has seen
            user.get(f"/task/{task_id}/status/")
        end_of = _ended_from_log(user)
    steps = backward_steps(esdc_run.ledger.observations, end_of)
    if steps:
        raise ContractViolation(
            f"{len(steps)} task(s) went back to an earlier state (only an expired result, "
            f"{RESULT_EXPIRES_SECONDS} s after the task ended, may read PENDING again):\n"
            + "\n".join(step.describe() for step in steps[:5])
        )


def _ended_from_log(user: Client) -> Callable[[str], datetime | None]:
    """When tasks ended, from the final entries of the user's newest log page."""
    exchange = user.get("/task/log/", page=1)
    body = exchange.json() if exchange.status == 200 else {}
    ended: dict[str, datetime] = {}
    for entry in body.get("results", []) if isinstance(body, dict) else []:
        if entry.get("status") != "PENDING":
            try:
                ended.setdefault(
                    entry["task"], datetime.fromisoformat(entry["time"].replace("Z", "+00:00"))
                )
            except (KeyError, ValueError):
                continue
    return ended.get
