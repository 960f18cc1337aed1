from datetime import UTC, datetime, timedelta
from http import HTTPStatus

import pytest

from esdc_api.spec import load_spec
from mockserver.lifecycle import HTTP_STATUS, RESULT_EXPIRES, Outcome, Task, TaskObject, TaskState

T0 = datetime(2026, 1, 1, tzinfo=UTC)
S = timedelta(seconds=1)


def make_task(**overrides: object) -> Task:
    values: dict[str, object] = dict(
        id="3e3d1-8c2f4a17-5b3e-4d21-a9f0",
        object=TaskObject("vm", "web01", "web01"),
        view="vm_status",
        method="PUT",
        msg="Start server",
        created_at=T0,
        started_at=T0 + 10 * S,
        ends_at=T0 + 70 * S,
        result={"message": "ok", "returncode": 0},
    )
    values.update(overrides)
    return Task(**values)  # type: ignore[arg-type]


def test_state_table_is_the_specs() -> None:
    spec_table = load_spec()["paths"]["/task/{task_id}/status/"]["get"]["responses"]["200"][
        "content"
    ]["application/json"]["schema"]["allOf"][0]["properties"]["status"]["x-http-status"]
    assert {str(state): int(code) for state, code in HTTP_STATUS.items()} == spec_table
    assert [str(s) for s in TaskState] == list(spec_table)


def test_task_moves_from_pending_through_started_to_its_outcome() -> None:
    task = make_task()
    assert [task.state(T0 + n * S) for n in (0, 9, 10, 69, 70)] == [
        TaskState.PENDING,
        TaskState.PENDING,
        TaskState.STARTED,
        TaskState.STARTED,
        TaskState.SUCCESS,
    ]
    assert task.result_at(T0 + 69 * S) is None
    assert task.result_at(T0 + 70 * S) == {"message": "ok", "returncode": 0}


def test_failed_task_reads_failure_with_its_result_and_http_400() -> None:
    task = make_task(outcome=Outcome.FAILURE, result={"detail": "boom"})
    state = task.state(T0 + 100 * S)
    assert state is TaskState.FAILURE and state.http_status is HTTPStatus.BAD_REQUEST
    assert task.final_detail() == "boom"


def test_revoked_task_reads_revoked_from_the_moment_of_revocation() -> None:
    task = make_task(revoked_at=T0 + 20 * S, revoke_detail="terminated (15)")
    assert task.state(T0 + 19 * S) is TaskState.STARTED
    assert task.state(T0 + 20 * S) is TaskState.REVOKED
    assert task.result_at(T0 + 100 * S) == "terminated"
    assert task.ended_at == T0 + 20 * S
    assert task.final_detail() == "terminated (15)"


@pytest.mark.parametrize("outcome", list(Outcome))
def test_result_expires_an_hour_after_the_end_and_the_task_reads_pending(outcome: Outcome) -> None:
    task = make_task(outcome=outcome)
    end = T0 + 70 * S
    assert task.state(end + RESULT_EXPIRES - S).is_final
    assert task.state(end + RESULT_EXPIRES) is TaskState.PENDING
    assert task.result_at(end + RESULT_EXPIRES) is None


def test_task_that_hangs_runs_until_cancelled() -> None:
    task = make_task(ends_at=None)
    assert task.state(T0 + timedelta(days=365)) is TaskState.STARTED
    assert task.is_running(T0 + timedelta(days=365))


@pytest.mark.parametrize("revoked", [None, T0 + 30 * S])
def test_the_state_changes_only_at_the_moments_next_change_names(revoked: datetime | None) -> None:
    task = make_task(revoked_at=revoked)
    moments = [T0 + n * S / 2 for n in range(0, 2 * 3800)]
    for now, later in zip(moments, moments[1:], strict=False):
        change = task.next_change(now)
        same = (task.state(later), task.result_at(later)) == (task.state(now), task.result_at(now))
        assert same or (change is not None and later >= change), now
    assert task.next_change(T0 + 10_000 * S) is None
    assert make_task(ends_at=None).next_change(T0 + 20 * S) is None
