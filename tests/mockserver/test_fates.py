"""A task's fate changed after it was made, and its history: by direct calls and over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest

from mockserver import create_app, fates
from mockserver.deployment import Deployment, NewTask
from mockserver.lifecycle import Outcome, TaskObject, TaskState
from tests.conftest import LiveServer, auth, frozen_settings, serve_in_thread
from tests.mockserver.conftest import user

WEB01 = TaskObject("vm", "web01.example.com", "web01.example.com", "web01")


def started(deployment: Deployment, runs: float | None = 60.0, queued: float = 0.0) -> str:
    alice = user(deployment, "alice")
    new = NewTask(
        alice, alice.id, alice.current_dc, WEB01, "Start server", queued=queued, runs=runs
    )
    return deployment.start_task(new).id


def test_a_finished_task_ends_now_with_its_result_and_logs_its_end(
    deployment: Deployment,
) -> None:
    task_id = started(deployment)
    deployment.clock.advance(10)  # type: ignore[attr-defined]
    task = fates.finish(deployment, task_id, Outcome.FAILURE, {"detail": "disk full"})

    status = deployment.status_at(task_id, deployment.now())
    assert (status.state, status.result) == (TaskState.FAILURE, {"detail": "disk full"})
    assert task.ended_at == deployment.now()
    assert [str(e.status) for e in deployment.store.task_log(task_id)] == ["PENDING", "FAILURE"]
    assert not task.is_listed(deployment.now())


def test_a_task_still_waiting_starts_and_ends_at_the_same_moment(
    deployment: Deployment,
) -> None:
    task_id = started(deployment, queued=30)
    task = fates.finish(deployment, task_id, Outcome.SUCCESS, None)
    assert [str(s.state) for s in task.steps] == ["PENDING", "STARTED", "SUCCESS"]
    assert task.steps[1].at == task.steps[2].at == deployment.now()


def test_a_hung_task_runs_until_cancelled(deployment: Deployment) -> None:
    task_id = started(deployment, runs=5)
    fates.hang(deployment, task_id)
    deployment.clock.advance(86400)  # type: ignore[attr-defined]
    assert deployment.status_at(task_id, deployment.now()).state is TaskState.STARTED


def test_an_ended_task_keeps_its_fate(deployment: Deployment) -> None:
    task_id = started(deployment, runs=5)
    deployment.clock.advance(5)  # type: ignore[attr-defined]
    with pytest.raises(fates.FateRefused, match="already ended SUCCESS"):
        fates.hang(deployment, task_id)


def test_the_history_lists_what_the_status_showed_and_the_expiry(deployment: Deployment) -> None:
    task_id = started(deployment, runs=5, queued=2)
    start = deployment.now()
    deployment.clock.advance(3600 + 7)  # type: ignore[attr-defined]
    task = deployment.store.get_task(task_id)
    assert task is not None
    seen = [(c.state, c.at - start) for c in fates.history(deployment, task)]
    assert seen == [
        (TaskState.PENDING, timedelta(0)),
        (TaskState.STARTED, timedelta(seconds=2)),
        (TaskState.SUCCESS, timedelta(seconds=7)),
        (TaskState.PENDING, timedelta(seconds=3607)),  # the result expired
    ]


# -- over HTTP ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    yield from serve_in_thread(create_app(frozen_settings()))


def make(client: httpx.Client, **body: object) -> str:
    response = client.post("/control/tasks/", json={"creator": "alice", **body})
    assert response.status_code == 201, response.text
    return str(response.json()["task_id"])


def test_finish_now_is_what_the_task_api_answers_at_once(server: LiveServer) -> None:
    with server.client() as client:
        task_id = make(client, runs=None)
        finished = client.post(
            f"/control/tasks/{task_id}/finish/",
            json={"outcome": "SUCCESS", "result": {"message": "done", "returncode": 0}},
        )
        status = client.get(f"/api/task/{task_id}/status/", headers=auth("alice"))
        listed = client.get("/api/task/", headers=auth("alice")).json()
    assert finished.status_code == 200, finished.text
    assert [h["state"] for h in finished.json()["history"]] == ["PENDING", "STARTED", "SUCCESS"]
    assert [e["status"] for e in finished.json()["log"]] == ["PENDING", "SUCCESS"]
    assert (status.status_code, status.json()["result"]) == (
        200,
        {"message": "done", "returncode": 0},
    )
    assert task_id not in listed


def test_a_task_whose_cancel_is_ignored_goes_on_running(server: LiveServer) -> None:
    with server.client() as client:
        task_id = make(client, runs=None)
        ignored = client.post(f"/control/tasks/{task_id}/ignore-cancel/", json={})
        cancel = client.put(f"/api/task/{task_id}/cancel/", headers=auth("alice"))
        again = client.post(f"/control/tasks/{task_id}/ignore-cancel/", json={"ignore": False})
        cancelled = client.put(f"/api/task/{task_id}/cancel/", headers=auth("alice"))
    assert ignored.json()["cancel"] == "ignored"
    assert (cancel.status_code, cancel.json()["status"]) == (201, "STARTED")
    assert again.json()["cancel"] == "revokes"
    assert (cancelled.status_code, cancelled.json()["status"]) == (410, "REVOKED")


def test_hang_keeps_a_task_running_past_its_end(server: LiveServer) -> None:
    with server.client() as client:
        task_id = make(client, runs=10)
        hung = client.post(f"/control/tasks/{task_id}/hang/", json={})
        client.post("/control/clock/advance/", json={"seconds": 60})
        status = client.get(f"/api/task/{task_id}/status/", headers=auth("alice"))
    assert (hung.json()["outcome"], hung.json()["ends_at"], hung.json()["planned"]) == (
        None,
        None,
        [],
    )
    assert (status.status_code, status.json()["status"]) == (201, "STARTED")


def test_the_task_list_shows_states_and_fates(server: LiveServer) -> None:
    with server.client() as client:
        task_id = make(client, runs=None)
        tasks = client.get("/control/tasks/", params={"state": "STARTED", "limit": 500}).json()
    mine = next(t for t in tasks if t["task_id"] == task_id)
    assert {t["state"] for t in tasks} == {"STARTED"}
    assert (mine["outcome"], mine["cancel"], "history" in mine) == (None, "revokes", False)


@pytest.mark.parametrize(
    ("action", "body", "status", "fragment"),
    [
        ("finish", {"outcome": "REVOKED"}, 400, "outcome"),
        ("finish", {"colour": "red"}, 400, "colour"),
        ("ignore-cancel", {"ignore": "maybe"}, 400, "ignore"),
        ("hang", {}, 409, "already ended"),
    ],
)
def test_bad_fate_changes_get_a_clear_error_and_change_nothing(
    server: LiveServer, action: str, body: object, status: int, fragment: str
) -> None:
    task_id = "3e3d1-8c2f4a17-5b3e-4d21-a9f0"  # SUCCESS in the demo world
    with server.client() as client:
        before = client.get(f"/control/tasks/{task_id}/").json()
        response = client.post(f"/control/tasks/{task_id}/{action}/", json=body)
        after = client.get(f"/control/tasks/{task_id}/").json()
    assert response.status_code == status, response.text
    assert fragment in response.json()["detail"]
    assert before == after


def test_an_unknown_task_is_404_for_every_action(server: LiveServer) -> None:
    with server.client() as client:
        answers = [
            client.post(f"/control/tasks/1e1d1-00000000-0000-0000-0000/{action}/", json={})
            for action in ("finish", "hang", "ignore-cancel")
        ]
    assert {a.status_code for a in answers} == {404}
    assert all("GET /control/tasks/" in a.json()["detail"] for a in answers)
