"""A task's state never goes backwards, except PENDING once its result expired."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from contract_tests.states import Observation, backward_steps

T0 = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


def seen(*states: str, at: float = 0.0, task: str = "3e3d1-00000000-0000-0000-0000") -> Observation:
    return Observation.of(
        task, states, elapsed=at, server_time=T0 + timedelta(seconds=at), evidence=f"{states}@{at}"
    )


def test_a_task_moving_forward_is_fine() -> None:
    history = [
        seen("PENDING"),
        seen("STARTED", at=1),
        seen("PENDING", "STARTED", at=2),
        seen("SUCCESS", at=3),
    ]
    assert backward_steps(history) == []


def test_a_finished_task_reading_started_again_goes_backwards() -> None:
    history = [seen("SUCCESS"), seen("STARTED", at=5)]
    [step] = backward_steps(history)
    assert step.before.states == {"SUCCESS"} and step.after.states == {"STARTED"}


def test_a_final_state_never_changes_into_another() -> None:
    assert len(backward_steps([seen("FAILURE"), seen("SUCCESS", at=1)])) == 1


def test_pending_after_the_result_expired_is_allowed() -> None:
    ended = {"3e3d1-00000000-0000-0000-0000": T0}.get
    assert backward_steps([seen("SUCCESS"), seen("PENDING", at=3600)], ended) == []


def test_pending_before_the_result_expired_goes_backwards() -> None:
    ended = {"3e3d1-00000000-0000-0000-0000": T0}.get
    assert len(backward_steps([seen("SUCCESS"), seen("PENDING", at=60)], ended)) == 1


def test_a_running_task_may_read_pending_again() -> None:
    # a retry, or the callback phase: the state of a task whose callback is queued is the
    # callback's (real deployments read STARTED, PENDING, STARTED, then the end state)
    history = [seen("STARTED"), seen("PENDING", at=1), seen("STARTED", at=2), seen("SUCCESS", at=3)]
    assert backward_steps(history) == []


def test_an_ended_task_reading_started_before_the_hour_goes_backwards() -> None:
    ended = {"3e3d1-00000000-0000-0000-0000": T0}.get
    assert len(backward_steps([seen("REVOKED"), seen("STARTED", at=600)], ended)) == 1


def test_tasks_are_judged_apart() -> None:
    history = [seen("SUCCESS", task="a"), seen("PENDING", at=1, task="b")]
    assert backward_steps(history) == []
