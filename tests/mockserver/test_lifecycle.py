"""A task's states as its result backend holds them, read by direct calls."""

from datetime import UTC, datetime, timedelta
from http import HTTPStatus

import pytest

from esdc_api.spec import load_spec
from mockserver.lifecycle import (
    HTTP_STATUS,
    RESULT_EXPIRES,
    BackendState,
    Message,
    Revoke,
    Step,
    Task,
    TaskObject,
    TaskState,
    TaskStatus,
    due_at,
    shown_result,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
S = timedelta(seconds=1)
OK = {"message": "ok", "returncode": 0}


def make_task(*steps: tuple[int, BackendState, object], **overrides: object) -> Task:
    """A task created at T0 with the steps given as (seconds, state, result)."""
    if not steps:
        steps = (
            (0, BackendState.PENDING, None),
            (10, BackendState.STARTED, None),
            (70, BackendState.SUCCESS, OK),
        )
    made = [Step(T0 + n * S, state, result) for n, state, result in steps]
    final = next((s for s in made if s.state.is_final), None)
    values: dict[str, object] = dict(
        id="3e3d1-8c2f4a17-5b3e-4d21-a9f0",
        object=TaskObject("vm", "pk1", "web01", "web01"),
        msg="Start server",
        call={"view": "vm_status", "method": "PUT", "hostname": "web01", "action": "start"},
        created_at=T0,
        steps=made,
        expires_at=None if final is None else final.at + RESULT_EXPIRES,
        unlisted_at=None if final is None else final.at,
    )
    values.update(overrides)
    return Task(**values)  # type: ignore[arg-type]


def test_state_table_is_the_specs() -> None:
    spec_table = load_spec()["paths"]["/task/{task_id}/status/"]["get"]["responses"]["200"][
        "content"
    ]["application/json"]["schema"]["allOf"][0]["properties"]["status"]["x-http-status"]
    assert {str(state): int(code) for state, code in HTTP_STATUS.items()} == spec_table
    assert [str(s) for s in TaskState] == list(spec_table)


def test_task_moves_through_its_steps_and_shows_a_result_only_once_final() -> None:
    task = make_task()
    assert [task.backend(T0 + n * S)[0] for n in (0, 9, 10, 69, 70)] == [
        BackendState.PENDING,
        BackendState.PENDING,
        BackendState.STARTED,
        BackendState.STARTED,
        BackendState.SUCCESS,
    ]
    assert shown_result(*task.backend(T0 + 69 * S)) is None
    assert shown_result(*task.backend(T0 + 70 * S)) == OK


def test_a_task_before_its_first_step_reads_pending() -> None:
    task = make_task((10, BackendState.STARTED, None))
    assert task.backend(T0) == (BackendState.PENDING, None)


def test_a_retried_task_reads_pending_and_shows_no_result() -> None:
    task = make_task((0, BackendState.RETRY, {"exc_message": "retry"}))
    state, result = task.backend(T0 + S)
    assert state.shown is TaskState.PENDING and shown_result(state, result) is None


def test_a_shown_result_leaves_out_meta_and_json_as_real_deployments_do() -> None:
    stored = {"returncode": 0, "meta": {"callback": "x"}, "json": "{}", "message": "ok"}
    assert shown_result(BackendState.SUCCESS, stored) == {"returncode": 0, "message": "ok"}
    assert shown_result(BackendState.REVOKED, "TaskRevokedError: revoked") == (
        "TaskRevokedError: revoked"
    )


def test_failed_task_reads_failure_with_its_result_and_http_400() -> None:
    task = make_task((0, BackendState.PENDING, None), (5, BackendState.FAILURE, {"detail": "boom"}))
    state, _result = task.backend(T0 + 100 * S)
    assert state.shown is TaskState.FAILURE and state.shown.http_status is HTTPStatus.BAD_REQUEST
    assert task.final_detail() == "boom"


def test_a_revoked_task_drops_its_later_steps_and_leaves_the_lists_then() -> None:
    task = make_task()
    task.revoked_from(T0 + 20 * S, "terminated")
    assert task.backend(T0 + 19 * S)[0] is BackendState.STARTED
    assert task.backend(T0 + 100 * S) == (BackendState.REVOKED, "TaskRevokedError: terminated")
    assert task.ended_at == T0 + 20 * S
    assert task.is_listed(T0 + 19 * S) and not task.is_listed(T0 + 20 * S)
    assert task.expires_at == T0 + 20 * S + RESULT_EXPIRES


@pytest.mark.parametrize("final", [BackendState.SUCCESS, BackendState.FAILURE])
def test_result_expires_an_hour_after_the_end_and_the_task_reads_pending(
    final: BackendState,
) -> None:
    task = make_task((0, BackendState.PENDING, None), (70, final, OK))
    end = T0 + 70 * S
    assert task.backend(end + RESULT_EXPIRES - S)[0].is_final
    assert task.backend(end + RESULT_EXPIRES) == (BackendState.PENDING, None)


def test_task_that_hangs_runs_until_cancelled() -> None:
    task = make_task((0, BackendState.PENDING, None), (1, BackendState.STARTED, None))
    assert task.backend(T0 + timedelta(days=365))[0] is BackendState.STARTED
    assert task.is_listed(T0 + timedelta(days=365)) and task.is_live(T0 + timedelta(days=365))


def test_a_task_the_backend_alone_knows_is_not_live() -> None:
    task = make_task((0, BackendState.STARTED, None), on_worker=False)
    assert not task.is_live(T0 + S)


def test_the_state_changes_only_at_the_moments_next_change_names() -> None:
    task = make_task()
    moments = [T0 + n * S / 2 for n in range(0, 2 * 3800)]
    for now, later in zip(moments, moments[1:], strict=False):
        change = task.next_change(now)
        same = task.backend(later) == task.backend(now) and task.is_listed(later) == task.is_listed(
            now
        )
        assert same or (change is not None and later >= change), now
    assert task.next_change(T0 + 10_000 * S) is None


def test_a_stopped_worker_moves_the_rest_of_a_task_later_when_it_starts_again() -> None:
    task = make_task()
    moved = task.shifted(T0 + 20 * S, 30 * S)
    assert [s.at for s in moved.steps] == [T0, T0 + 10 * S, T0 + 100 * S]
    assert moved.unlisted_at == T0 + 100 * S
    assert moved.expires_at == T0 + 100 * S + RESULT_EXPIRES


def test_what_falls_due_is_the_end_to_log_a_message_or_a_revoke() -> None:
    task = make_task()
    assert due_at(task) == T0 + 70 * S
    task.final_logged = True
    assert due_at(task) is None
    task.message = Message(eta=T0 + 5 * S)
    task.pending_revoke = Revoke(T0 + 3 * S, True, 15)
    assert due_at(task) == T0 + 3 * S


def test_a_success_answer_has_the_code_of_its_meta_status() -> None:
    status = TaskStatus("3e3d1-8c2f4a17-5b3e-4d21-a9f0", TaskState.SUCCESS, OK, success_code=205)
    assert status.http_status == 205
    assert TaskStatus("x", TaskState.FAILURE, None, success_code=205).http_status == 400


def test_the_log_detail_of_a_start_names_the_views_own_parameters() -> None:
    task = make_task(
        call={
            "view": "vm_snapshot",
            "method": "POST",
            "hostname": "web01",
            "snapname": "daily",
            "disk_id": 1,
        }
    )
    assert task.start_detail() == "snapname='daily', disk_id=1"
