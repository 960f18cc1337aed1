"""The control API: tasks with a chosen fate, the clock, and resetting the world."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import mockserver.control
from esdc_api.spec import CONTROL_SPEC_ROOT, load_spec
from mockserver import create_app
from tests.conftest import (
    LiveServer,
    auth,
    chunked_request,
    frozen_settings,
    raw_exchange,
    serve_in_thread,
)


def create(client, **body: object) -> dict:  # type: ignore[no-untyped-def, type-arg]
    response = client.post("/control/tasks/", json=body)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def test_task_that_succeeds_after_n_seconds_moves_through_its_states_on_the_clock(
    live_server: LiveServer,
) -> None:
    with live_server.client() as client:
        task = create(
            client, creator="alice", queued=5, runs=30, result={"message": "done", "returncode": 0}
        )
        task_id = task["task_id"]
        assert task_id.startswith("3e3d1-")

        def poll() -> tuple[int, str, object]:
            status = client.get(f"/api/task/{task_id}/status/", headers=auth("alice"))
            body = status.json()
            return status.status_code, body["status"], body["result"]

        assert poll() == (201, "PENDING", None)
        client.post("/control/clock/advance/", json={"seconds": 5})
        assert poll() == (201, "STARTED", None)
        assert task_id in client.get("/api/task/", headers=auth("alice")).json()
        client.post("/control/clock/advance/", json={"seconds": 30})
        assert poll() == (200, "SUCCESS", {"message": "done", "returncode": 0})
        assert (
            client.get(f"/api/task/{task_id}/done/", headers=auth("alice")).json()["done"] is True
        )
        assert task_id not in client.get("/api/task/", headers=auth("alice")).json()
        log = client.get("/api/task/log/?page=1", headers=auth("alice")).json()["results"]
        assert [(e["status"], e["detail"]) for e in log if e["task"] == task_id] == [
            ("SUCCESS", "done"),
            ("PENDING", ""),
        ]


def test_task_that_fails_reads_failure_with_its_result(live_server: LiveServer) -> None:
    with live_server.client() as client:
        task_id = create(
            client, creator="bob", runs=1, outcome="FAILURE", result={"detail": "no space"}
        )["task_id"]
        client.post("/control/clock/advance/", json={"seconds": 1})
        response = client.get(f"/api/task/{task_id}/status/", headers=auth("bob"))
    assert (response.status_code, response.json()["result"]) == (400, {"detail": "no space"})


def test_task_that_hangs_runs_until_cancelled(live_server: LiveServer) -> None:
    with live_server.client() as client:
        task_id = create(client, creator="alice", runs=None)["task_id"]
        client.post("/control/clock/advance/", json={"seconds": 86400 * 30})
        assert client.get(f"/api/task/{task_id}/status/", headers=auth("alice")).status_code == 201
        cancel = client.put(f"/api/task/{task_id}/cancel/", headers=auth("alice"))
        assert (cancel.status_code, cancel.json()["status"]) == (410, "REVOKED")
        assert client.get(f"/control/tasks/{task_id}/").json()["state"] == "REVOKED"


def test_tasks_can_be_made_for_any_owner_type_group_and_datacenter(live_server: LiveServer) -> None:
    with live_server.client() as client:
        task = create(
            client,
            creator="dcadmin",
            owner="bob",
            type="m",
            group="u",
            msg="Update node",
            object={"type": "node", "name": "node01.example.com"},
            runs=None,
        )
        assert task["task_id"].startswith("2m4u1-")
        lab = create(client, creator="bob", dc="lab")
        assert lab["task_id"].startswith("4e4d2-")
        cancel = client.put(f"/api/task/{task['task_id']}/cancel/", headers=auth("dcadmin"))
    assert cancel.json() == {"detail": "Task cannot be canceled"}


def test_frozen_clock_stands_still_and_run_lets_it_go(live_server: LiveServer) -> None:
    with live_server.client() as client:
        frozen = client.post("/control/clock/freeze/").json()
        assert frozen["frozen"] is True and frozen["scale"] == 0
        running = client.post("/control/clock/run/", json={"scale": 60}).json()
        assert (running["frozen"], running["scale"]) == (False, 60)
        assert client.get("/control/clock/").json()["now"] >= frozen["now"]


def test_reset_brings_back_the_demo_world(live_server: LiveServer) -> None:
    with live_server.client() as client:
        before = client.get("/control/").json()
        client.put("/api/task/3e3d1-e7a05c3b-9d42-4b6e-a1c8/cancel/", headers=auth("alice"))
        create(client, creator="alice")
        after = client.post("/control/reset/").json()
        status = client.get(
            "/api/task/3e3d1-e7a05c3b-9d42-4b6e-a1c8/status/", headers=auth("alice")
        )
    assert (after["tasks"], after["log_entries"]) == (before["tasks"], before["log_entries"])
    assert status.json()["status"] == "PENDING"
    assert {a["username"] for a in after["accounts"]} == {
        "admin",
        "dcadmin",
        "alice",
        "bob",
        "labadmin",
    }


@pytest.mark.parametrize(
    ("path", "body", "fragment"),
    [
        ("/control/tasks/", {"creator": "mallory"}, "no user 'mallory'"),
        ("/control/tasks/", {"creator": "alice", "dc": "moon"}, "no datacenter 'moon'"),
        ("/control/tasks/", {"creator": "alice", "runs": -1}, "runs"),
        ("/control/tasks/", {"creator": "alice", "colour": "red"}, "colour"),
        ("/control/clock/advance/", {"seconds": -5}, "seconds"),
        ("/control/clock/run/", {"scale": 1e9}, "scale"),
        ("/control/clock/run/", {"scale": 1, "x": 1}, "x: This field is not allowed."),
        ("/control/tasks/", None, "creator: This field is required."),
        ("/control/tasks/", {"creator": ""}, "creator"),
    ],
)
def test_bad_control_requests_get_a_clear_400_and_change_nothing(
    live_server: LiveServer, path: str, body: object, fragment: str
) -> None:
    with live_server.client() as client:
        before = client.get("/control/").json()
        response = client.post(path, json=body)
        after = client.get("/control/").json()
    assert response.status_code == 400
    assert fragment in response.json()["detail"]  # the spec's Error: detail is one string
    assert before == after


@pytest.mark.parametrize("path", ["/control/throttle/", "/control/workers/", "/control/failures/"])
def test_a_put_without_a_body_is_a_400_in_the_control_apis_shape(
    live_server: LiveServer, path: str
) -> None:
    """Issue 12 L5: connexion answered these with application/problem+json."""
    with live_server.client() as client:
        response = client.put(path)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json"
    assert "needs a JSON body" in response.json()["detail"]


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b'{"creator": "alice", "result": ' + b"[" * 2_000 + b"]" * 2_000 + b"}", "JSON parse"),
        (b'{"creator": "alice", "result": ' + b"[" * 150 + b"]" * 150 + b"}", "nests deeper"),
        (b'{"creator": "alice", "msg": "\\ud800"}', "lone surrogate"),
        (b'{"creator": "alice", "params": {"\\udfff": 1}}', "lone surrogate"),
    ],
)
def test_control_bodies_the_server_could_not_store_get_a_400_and_change_nothing(
    live_server: LiveServer, body: bytes, fragment: str
) -> None:
    """Issue 12 M2 and L3: a result nested 2,000 deep, and a lone surrogate in ``msg`` or a
    ``params`` key (SQLite cannot store it as UTF-8), gave 500."""
    with live_server.client() as client:
        before = client.get("/control/").json()
        response = client.post(
            "/control/tasks/", content=body, headers={"Content-Type": "application/json"}
        )
        after = client.get("/control/").json()
    assert response.status_code == 400, response.text
    assert fragment in response.json()["detail"]
    assert before == after


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("/control/tasks/", b'{"creator": "alice", "runs": null}', 201),
        ("/control/clock/advance/", b'{"seconds": 60}', 200),
    ],
)
def test_chunked_control_bodies_are_read_whole(
    live_server: LiveServer, path: str, body: bytes, status: int
) -> None:
    """Issue 12 M8: a body sent with ``Transfer-Encoding: chunked`` was read as empty (400
    "This field is required.")."""
    answer = raw_exchange(live_server.url, chunked_request("POST", path, body))
    head, _, text = answer.partition(b"\r\n\r\n")
    assert head.startswith(f"HTTP/1.1 {status} ".encode()), answer
    assert "detail" not in json.loads(text)


def test_unknown_task_is_404(live_server: LiveServer) -> None:
    with live_server.client() as client:
        response = client.get("/control/tasks/1e1d1-00000000-0000-0000-0000/")
    assert response.status_code == 404 and "No task" in response.json()["detail"]


@pytest.mark.parametrize(
    ("kind", "status", "detail"),
    [
        ("timeout", 504, "TimeoutError: The operation timed out."),
        ("unreachable", 502, "ConnectionError: Error 111 connecting to 127.0.0.1:6379."),
        ("error", 500, "ResponseError: the result backend failed"),
    ],
)
def test_a_failing_result_backend_fails_the_state_reads_as_on_real_deployments(
    live_server: LiveServer, kind: str, status: int, detail: str
) -> None:
    """api/task/utils.py's TASK_EXCEPTION table: 504 for a timeout, 502 for Redis, else 500."""
    task = "3e3d1-8c2f4a17-5b3e-4d21-a9f0"
    with live_server.client("alice") as client:
        client.put("/control/failures/", json={"result_backend": kind})
        reads = [client.get(f"/api/task/{task}/{end}/") for end in ("status", "state", "done")]
        listed = client.get("/api/task/")
        client.put("/control/failures/", json={"result_backend": "ok"})
        again = client.get(f"/api/task/{task}/status/")
    assert {(r.status_code, r.json()["detail"].startswith(detail)) for r in reads} == {
        (status, True)
    }
    assert listed.status_code == 200 and again.status_code == 200


def test_real_time_brings_a_clock_that_is_behind_to_now_and_runs_it(
    live_server: LiveServer,
) -> None:
    with live_server.client() as client:
        before = client.get("/control/clock/").json()
        after = client.post("/control/clock/real-time/", json={}).json()
        shown = client.get("/control/clock/").json()
    assert (before["real_time"], before["frozen"]) == (False, True)
    assert before["offset"] < -86400  # the documentation clock lies in the past
    assert (after["real_time"], after["scale"], after["frozen"]) == (True, 1, False)
    assert abs(after["offset"]) < 1 and shown["now"] >= after["now"]


def test_real_time_is_refused_when_the_clock_is_ahead_and_tasks_would_step_back(
    live_server: LiveServer,
) -> None:
    with live_server.client() as client:
        ahead = client.post("/control/clock/advance/", json={"seconds": 86400 * 3650}).json()
        refused = client.post("/control/clock/real-time/", json={})
        back = client.post("/control/clock/set/", json={"at": "2026-11-02T12:00:00Z"})
        after = client.get("/control/clock/").json()
    assert refused.status_code == 409 and "ahead of real time" in refused.json()["detail"]
    assert back.status_code == 409 and "tasks would step back" in back.json()["detail"]
    assert after["now"] == ahead["now"]


def _changing_operations() -> list[tuple[str, str, bool]]:
    """Every control operation that changes something: method, path, and whether it needs
    parameters in its body (a schema with required fields, or one of several)."""
    spec = load_spec(CONTROL_SPEC_ROOT)
    found = []
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method not in ("post", "put", "patch", "delete"):
                continue
            body = operation.get("requestBody", {})
            schema = body.get("content", {}).get("application/json", {}).get("schema", {})
            needs = bool(body.get("required")) and any(
                part.get("required") for part in schema.get("anyOf", [schema])
            )
            found.append((method.upper(), path, needs))
    return found


@pytest.fixture(scope="module")
def shared_server() -> Iterator[LiveServer]:
    """One server for tests that each work in a named world of their own."""
    yield from serve_in_thread(create_app(frozen_settings()))


@pytest.mark.parametrize(("method", "path", "needs_body"), _changing_operations())
def test_every_change_takes_an_empty_json_body(
    shared_server: LiveServer, method: str, path: str, needs_body: bool
) -> None:
    """The control page and the docs send ``{}`` (JSON) to a call without parameters, as the
    control API's protection wants: each such call takes it, and one that needs parameters
    says which with a 400."""
    with shared_server.client() as client:
        assert client.post("/control/worlds/", json={"name": "e"}).status_code == 201
        client.post("/control/worlds/", json={"name": "gone"})
        task = client.post("/w/e/control/tasks/", json={"creator": "alice", "runs": 30}).json()
        client.post("/w/e/control/faults/", json={"fault": "throttle", "id": "r1", "times": 0})
        url = "/w/e/control" + path.format(task_id=task["task_id"], name="gone", rule_id="r1")
        try:
            answer = client.request(method, url, json={})
        finally:
            client.delete("/control/worlds/e/")
            client.delete("/control/worlds/gone/")
    if needs_body:
        assert answer.status_code == 400 and answer.json()["detail"], answer.text
    elif path == "/reload/":  # the server runs without --reload
        assert answer.status_code == 409 and "--reload" in answer.json()["detail"]
    else:
        assert answer.is_success, answer.text


def test_the_clock_cannot_be_pushed_past_its_end_and_the_server_keeps_answering(
    live_server: LiveServer,
) -> None:
    """Issue 12 L4: 798 advances of ten years reached 9991, the next one was a 500, and once
    past 9999 (``run`` at 10000) every endpoint answered 500 until a restart."""
    with live_server.client() as client:
        near = client.post("/control/clock/set/", json={"at": "8999-12-31T23:00:00Z"})
        too_far = client.post("/control/clock/advance/", json={"seconds": 315360000})
        beyond = client.post("/control/clock/set/", json={"at": "9999-12-31T23:59:00Z"})
        world = client.put(
            "/control/world/",
            params={"at": "9999-12-31T23:59:00Z"},
            json=client.get("/control/world/").json(),
        )
        assert (near.status_code, too_far.status_code, beyond.status_code) == (200, 400, 400)
        assert world.status_code == 400
        assert "9000-01-01" in too_far.json()["detail"]
        assert client.get("/control/clock/").json()["now"].startswith("8999-12-31T23:00:00")
        ran = client.post("/control/clock/run/", json={"scale": 10000})
        assert ran.status_code == 200
        # An hour on this clock is 0.36 s; the next calls may find it at its end, or not yet.
        login = client.post("/api/accounts/login/", json={"username": "alice", "password": "alice"})
        tasks = client.get("/api/task/", headers=auth("alice"))
        frozen = client.post("/control/clock/freeze/")
        log = client.get("/api/task/log/?page=1", headers=auth("admin"))
    assert [r.status_code for r in (login, tasks, frozen, log)] == [200, 200, 200, 200]
    assert frozen.json()["now"] <= "9000-01-01T00:00:00+00:00"


@pytest.mark.parametrize("db", [":memory:", "a file"])
def test_a_world_is_built_off_the_event_loop_while_other_requests_are_answered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, db: str
) -> None:
    """Issue 12 M3: ``POST /control/reset/`` with a history of 200,000 held every other
    request for 15 s. The build is held here until a request to another endpoint has been
    answered (from the old world): it could not be, if the build ran on the event loop."""
    building, release = threading.Event(), threading.Event()
    install = mockserver.control.install

    def held(*args: Any, **kwargs: Any) -> None:
        building.set()
        assert release.wait(60)
        install(*args, **kwargs)

    monkeypatch.setattr(mockserver.control, "install", held)
    settings = frozen_settings(db=db if db == ":memory:" else str(tmp_path / "world.sqlite3"))
    answers: dict[str, Any] = {}
    for server in serve_in_thread(create_app(settings)):
        with server.client() as client:
            made = create(client, creator="alice", runs=None)

        def reset(server: LiveServer = server) -> None:
            with server.client(timeout=120) as client:
                answers["reset"] = client.post("/control/reset/", json={"history": 20_000})

        resetting = threading.Thread(target=reset)
        resetting.start()
        try:
            assert building.wait(30)
            with server.client("alice", timeout=10) as client:
                answers["tasks"] = client.get("/api/task/")
                answers["clock"] = client.get("/control/clock/")
        finally:
            release.set()
            resetting.join(120)
        with server.client("alice") as client:
            answers["after"] = client.get("/api/task/")
    assert answers["tasks"].status_code == answers["clock"].status_code == 200
    assert made["task_id"] in answers["tasks"].json()  # the old world, while the new is built
    assert answers["reset"].status_code == 200
    assert answers["reset"].json()["log_entries"] > 40_000
    assert made["task_id"] not in answers["after"].json()


def test_a_reset_says_how_its_build_goes_on_the_console(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from mockserver import progress

    monkeypatch.setattr(progress, "QUIET_FOR", 0.0)
    lines: list[str] = []
    for server in serve_in_thread(create_app(frozen_settings(), say=lines.append)):
        lines.clear()
        with server.client() as client:
            assert client.post("/control/reset/", json={"history": 1_000}).status_code == 200
    assert lines[0].startswith("building the world: drawing the history's tasks")
    assert lines[-1].startswith("building the world: done in ")
