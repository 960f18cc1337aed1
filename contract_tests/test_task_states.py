"""A task's state: every endpoint that tells it agrees, answers with that state's HTTP status
(TaskState.x-http-status in the spec), and the state never goes backwards."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pytest

from contract_tests.client import Client, Exchange
from contract_tests.deviations import BODY_IGNORED
from contract_tests.errors import BudgetExhausted, ContractViolation, KeptThrottling
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


def _codes(facts: SpecFacts, state: str) -> set[int]:
    """The codes an answer in ``state`` may carry: the state's, and for a SUCCESS whose result
    asks for another 2xx (``result.meta.status``, 205 on real deployments) that one."""
    code = int(facts.state_http_status[state])
    if state == "SUCCESS":
        return {c for c in range(200, 300) if c != int(facts.state_http_status["PENDING"])}
    return {code}


def check_agreement(
    facts: SpecFacts, task_id: str, status: Exchange, alias: Exchange, done: Exchange
) -> None:
    """status, its /state/ alias and done tell the same state, each with the state's code."""
    state = _state(status, facts)
    code = int(facts.state_http_status[state])
    if status.status not in _codes(facts, state):
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
        done.status not in _codes(facts, state)
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

    On a live deployment the task may move on between the reads (and, in the callback phase,
    back): then they are read again, and only answers that disagree every time fail.
    """
    problem: ContractViolation | None = None
    for _attempt in range(ATTEMPTS):
        status = user.get(f"/task/{task_id}/status/")
        alias = user.get(f"/task/{task_id}/state/")
        done = user.get(f"/task/{task_id}/done/")
        again = user.get(f"/task/{task_id}/status/")
        if again.status != status.status or again.json() != status.json():
            continue
        try:
            check_agreement(facts, task_id, status, alias, done)
        except ContractViolation as violation:
            problem = violation
            continue
        return _state(status, facts)
    if problem is not None:
        raise problem
    raise ContractViolation(
        f"task {task_id} changed state during each of {ATTEMPTS} reads; cannot tell if its "
        "endpoints agree",
        status,
        again,
    )


@pytest.mark.esdc_check("state-agreement", user=16)
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


@pytest.mark.esdc_check("cancel-answers", user=9)
def test_cancel_answers_like_status(esdc_run: Run, user: Client, tasks: Tasks) -> None:
    """Cancel answers with the task's state, as status would: REVOKED 410 once revoked, 201
    while it is still queued or being revoked (real deployments wait a second and answer with
    the state they read then). Once the task has ended a cancel is 406 Task cannot be
    canceled, or, while it is still listed, the state again; never a state it left."""
    facts = esdc_run.facts
    cannot = {"detail": facts.detail("taskCancel", 406, "cannotCancel")}
    if esdc_run.control is not None:
        running, ended = tasks.make(queued=0, runs=None), tasks.make(queued=0, runs=0)
    elif esdc_run.settings.allow_cancel:
        running, ended = esdc_run.settings.allow_cancel[-1], None
    else:
        from contract_tests.test_authorization import safety_reason

        pytest.skip(safety_reason(esdc_run, "cancels only tasks named with"))
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
        if cancel.json() != cannot or esdc_run.control is not None:
            raise ContractViolation(
                f"the user could not cancel their own running task {running}", cancel
            )
        state = read_agreeing(user, facts, running)  # it ended before the suite ran
        pytest.skip(f"task {running} had already ended ({state}); give a running one")
    state = _state(cancel, facts)
    if cancel.status not in _codes(facts, state):
        raise ContractViolation(
            f"cancel answered {cancel.status} with the task in state {state}, whose code is "
            f"{int(facts.state_http_status[state])}",
            cancel,
        )
    if esdc_run.control is not None and state in ("SUCCESS", "FAILURE"):
        raise ContractViolation(
            f"cancelling running task {running} answered {state}; a cancelled task is REVOKED, "
            "or PENDING/STARTED while it is being revoked",
            cancel,
        )
    after = read_agreeing(user, facts, running)
    if state == "REVOKED" and after != "REVOKED":
        raise ContractViolation(
            f"cancel said task {running} is REVOKED, status then says {after}", cancel
        )
    # The second cancel is judged wherever the suite runs: it answers 406, or the state the
    # task is in now (real deployments answer a revoked task that is still listed 410).
    again = user.put(f"/task/{running}/cancel/")
    again_body = again.json()
    now = again_body.get("status") if isinstance(again_body, dict) else None
    if again.json() != cannot:
        if now not in facts.state_http_status or again.status not in _codes(facts, now):
            raise ContractViolation(
                f"the second cancel of task {running} answered {again.status} "
                f"{again.text[:100]}; it answers 406 {cannot} or the task's state with the "
                "state's code",
                cancel,
                again,
            )
        if after == "REVOKED" and now != "REVOKED":
            raise ContractViolation(
                f"task {running} reads REVOKED, but cancelling it again answered {now} "
                f"({again.status}); a revoked task stays revoked",
                again,
            )
    if ended is not None:
        again_ended = user.put(f"/task/{ended}/cancel/")
        if again_ended.status != 406 or again_ended.json() != cannot:
            raise ContractViolation(
                f"cancelling a task that has ended must answer 406 {cannot}", again_ended
            )


@pytest.mark.esdc_check("result-expiry", user=3)
def test_results_expire_an_hour_after_the_end(esdc_run: Run, user: Client, tasks: Tasks) -> None:
    """Kept 3600 s after the task ended, then PENDING again (reference servers: the clock is
    moved past the hour)."""
    if esdc_run.control is None:
        pytest.skip(
            "needs a reference server to move its clock past a result's hour (--esdc-reference)"
        )
    facts = esdc_run.facts
    task_id = tasks.make(queued=0, runs=0, result={"message": "done", "returncode": 0})
    tasks.advance(RESULT_EXPIRES_SECONDS - 60)
    kept = user.get(f"/task/{task_id}/status/")
    if _state(kept, facts) != "SUCCESS":
        raise ContractViolation(
            f"task {task_id} ended {RESULT_EXPIRES_SECONDS - 60} s ago; its result is kept "
            f"for {RESULT_EXPIRES_SECONDS} s, but it reads {kept.json().get('status')}",
            kept,
        )
    tasks.advance(120)
    expired = user.get(f"/task/{task_id}/status/")
    wanted = {"status": "PENDING", "result": None, "task_id": task_id}
    if expired.status != int(facts.state_http_status["PENDING"]) or expired.json() != wanted:
        raise ContractViolation(
            f"task {task_id} ended {RESULT_EXPIRES_SECONDS + 60} s ago, so its result has "
            f"expired and it reads 201 {wanted}, not {expired.status}",
            kept,
            expired,
        )


@pytest.mark.esdc_check("states-forward", user=13, part="whole run")
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
        end_of = lambda _task: None  # noqa: E731
        try:
            for task_id in seen:  # a second look at what the run has seen
                user.get(f"/task/{task_id}/status/")
            end_of = _ended_from_log(user)
        except (BudgetExhausted, KeptThrottling):
            # no time for a second look: judge what the run saw
            esdc_run.ledger.note("states-forward judged the run's answers without a second look")
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
