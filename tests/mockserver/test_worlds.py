"""World files: the demo world, the recorded 4.6 world, export and import, and the errors a
bad world file gets."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
import yaml

from mockserver import Settings, create_app
from mockserver.worlds import DEMO_WORLD
from mockserver.worlds.document import WorldError, check, from_doc
from mockserver.worlds.install import read_world
from tests.conftest import DOC_TIME, REAL_46, frozen_settings, serve_in_thread
from tests.mockserver.test_serve import start, stop

RECORDED = REAL_46 / "world.json"
SEEDED_AT = json.loads(RECORDED.read_text())["seeded_at"]


def minimal(**extra: object) -> dict[str, object]:
    return {
        "format": "esdc-world/1",
        "datacenters": [{"id": 1, "name": "main", "default": True}],
        "users": [{"id": 3, "username": "alice", "password": "alice", "api_key": "k"}],
        **extra,
    }


def test_the_shipped_demo_world_is_a_valid_world_file() -> None:
    check(yaml.safe_load(DEMO_WORLD.read_text()))
    world = read_world(DEMO_WORLD, DOC_TIME)
    assert {user.username for user in world.users} >= {"admin", "dcadmin", "alice", "bob"}
    assert world.history.tasks == 400 and world.derive_log


def test_offsets_count_from_the_moment_the_world_is_loaded() -> None:
    doc = minimal(
        tasks=[
            {
                "id": "3e3d1-8c2f4a17-5b3e-4d21-a9f0",
                "created": "-1h30m",
                "steps": [{"state": "STARTED", "at": "-90s"}, {"state": "SUCCESS", "at": "+2m"}],
            }
        ]
    )
    task = from_doc(doc, DOC_TIME).tasks[0]
    assert task.created_at == DOC_TIME - timedelta(minutes=90)
    assert [s.at for s in task.steps] == [
        DOC_TIME - timedelta(seconds=90),
        DOC_TIME + timedelta(minutes=2),
    ]
    assert task.expires_at == DOC_TIME + timedelta(minutes=62)  # an hour after the end


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"users": [{"id": 3, "username": "alice", "current_dc": "lab"}]},
            r"users\[0\] \(alice\)\.current_dc: no datacenter 'lab'; the datacenters are main",
        ),
        (
            {"tasks": [{"id": "3e3d1-8c2f4a17-5b3e-4d21-a9f0", "created": "yesterday"}]},
            r"tasks\[0\].*: 'yesterday' does not match",
        ),
        (
            {
                "tasks": [
                    {
                        "id": "3e3d1-8c2f4a17-5b3e-4d21-a9f0",
                        "steps": [{"state": "DONE", "at": "-1s"}],
                    }
                ]
            },
            r"tasks\[0\]\.steps\[0\]\.state \(3e3d1-8c2f4a17-5b3e-4d21-a9f0\): 'DONE' is not ",
        ),
        (
            {"tasks": [{"id": "not-a-task-id"}]},
            r"tasks\[0\] \(not-a-task-id\)\.id: 'not-a-task-id' is not a task id",
        ),
        (
            {"tasks": [{"id": "3e3d9-8c2f4a17-5b3e-4d21-a9f0"}]},
            r"names datacenter 9, which the world lacks",
        ),
        (
            {
                "datacenters": [
                    {"id": 1, "name": "a", "default": True},
                    {"id": 2, "name": "b", "default": True},
                ]
            },
            r"a, b are all marked default",
        ),
        ({"colour": "blue"}, r"the document: Additional properties are not allowed \('colour'"),
        (
            {"objects": [{"type": "vm", "pk": "1", "name": "web", "owner": "mallory"}]},
            r"objects\[0\]\.owner: no user 'mallory'; the users are alice",
        ),
    ],
)
def test_a_mistake_in_a_world_file_is_named_at_its_place(
    change: dict[str, object], message: str
) -> None:
    with pytest.raises(WorldError, match=message):
        from_doc({**minimal(), **change}, DOC_TIME)


def test_a_file_that_is_not_yaml_is_named_with_its_line(tmp_path: Path) -> None:
    bad = tmp_path / "world.yaml"
    bad.write_text("format: esdc-world/1\ndatacenters: [\n")
    with pytest.raises(WorldError, match=r"world\.yaml' is not YAML or JSON \(line 3, column 1\)"):
        read_world(bad, DOC_TIME)
    with pytest.raises(WorldError, match="no world file at"):
        read_world(tmp_path / "missing.yaml", DOC_TIME)


def test_serve_refuses_a_bad_world_file_with_a_message_not_a_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "world.yaml"
    bad.write_text(yaml.safe_dump(minimal(users=[{"id": 3, "username": "alice", "dcs": ["x"]}])))
    done = subprocess.run(
        [sys.executable, "-m", "esdc_api", "serve", "--port", "0", "--world", str(bad)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert "users[0] (alice).dcs: no datacenter 'x'" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_recorded_4_6_world_loads_as_it_is_and_answers_as_recorded() -> None:
    """n=14, n=294 and n=109/110 of the recording."""
    start_at = datetime.fromisoformat(SEEDED_AT)
    keys = {u["username"]: u["api_key"] for u in json.loads(RECORDED.read_text())["users"]}
    for server in serve_in_thread(create_app(Settings(world=RECORDED, start=start_at, scale=0))):
        with server.client() as client:
            listed = client.get("/api/task/", headers={"ES-API-KEY": keys["user1"]}).json()
            stats = client.get("/api/task/log/stats/", headers={"ES-API-KEY": keys["admin"]})
            meta = [
                client.get(
                    "/api/task/9e9d1-c0ffee08-1234-4abc-8def/status/",
                    headers={"ES-API-KEY": keys["user1"]},
                ).status_code
                for _ in range(2)
            ]
    assert len(listed) == 8 and "9e9d1-c0ffee07-1234-4abc-8def" in listed
    assert stats.json() == {
        "succeeded": 121,
        "_last": 86400,
        "revoked": 1,
        "pending": 12,
        "failed": 2,
    }
    assert meta == [205, 200]


def test_serve_starts_with_the_recorded_world_at_its_seed_moment() -> None:
    process, url, banner = start("--world", str(RECORDED), "--at", SEEDED_AT, "--scale", "0")
    try:
        clock = httpx.get(f"{url}/control/clock/", timeout=30).json()
        answer = httpx.get(f"{url}/api/task/", timeout=30)
    finally:
        stop(process)
    assert datetime.fromisoformat(clock["now"]) == datetime.fromisoformat(SEEDED_AT)
    assert answer.status_code == 403  # no credentials, as n=1
    assert "admin" in "".join(banner)


@pytest.mark.parametrize("world", ["demo", "recorded"])
def test_an_exported_world_put_back_is_the_same_world(world: str) -> None:
    settings = frozen_settings() if world == "demo" else Settings(world=RECORDED, scale=0)
    for server in serve_in_thread(create_app(settings)):
        with server.client() as client:
            exported = client.get("/control/world/").json()
            client.post("/control/clock/advance/", json={"seconds": 600})
            assert client.get("/control/world/").json() != exported  # ten minutes later
            replaced = client.put(f"/control/world/?at={exported['at']}", json=exported)
            again = client.get("/control/world/").json()
    assert replaced.status_code == 200
    assert again == exported


def test_a_recorded_export_is_accepted_by_the_control_api_too() -> None:
    for server in serve_in_thread(create_app(frozen_settings())):
        with server.client() as client:
            answer = client.put(
                "/control/world/", params={"at": SEEDED_AT}, json=json.loads(RECORDED.read_text())
            )
            clock = client.get("/control/clock/").json()
    assert answer.status_code == 200 and answer.json()["log_entries"] == 137
    assert datetime.fromisoformat(clock["now"]) == datetime.fromisoformat(SEEDED_AT)


def test_a_bad_world_put_is_refused_and_the_world_is_kept() -> None:
    for server in serve_in_thread(create_app(frozen_settings())):
        with server.client() as client:
            before = client.get("/control/").json()
            answer = client.put(
                "/control/world/",
                json=minimal(users=[{"id": 1, "username": "x", "current_dc": "lab"}]),
            )
            after = client.get("/control/").json()
    assert answer.status_code == 400 and "no datacenter 'lab'" in answer.json()["detail"]
    assert after == before


def test_the_clock_is_set_forward_to_a_moment_and_never_back() -> None:
    for server in serve_in_thread(create_app(frozen_settings())):
        with server.client() as client:
            later = (DOC_TIME + timedelta(hours=1)).isoformat()
            moved = client.post("/control/clock/set/", json={"at": later})
            back = client.post("/control/clock/set/", json={"at": DOC_TIME.isoformat()})
    assert moved.status_code == 200 and moved.json()["now"] == later
    assert back.status_code == 409 and "tasks would step back" in back.json()["detail"]


def test_stopped_workers_leave_tasks_where_they_are_until_they_start_again() -> None:
    started = "3e3d1-4b1d9e06-2c7a-4f83-8e15"  # ends 602 s after the docs clock
    for server in serve_in_thread(create_app(frozen_settings())):
        with server.client("alice") as client:
            client.put("/control/workers/", json={"node": {"running": False}})
            client.post("/control/clock/advance/", json={"seconds": 3600})
            stuck = client.get(f"/api/task/{started}/status/").json()["status"]
            client.put("/control/workers/", json={"node": {"running": True}})
            client.post("/control/clock/advance/", json={"seconds": 601})
            still = client.get(f"/api/task/{started}/status/").json()["status"]
            client.post("/control/clock/advance/", json={"seconds": 2})
            done = client.get(f"/api/task/{started}/status/").json()["status"]
    assert (stuck, still, done) == ("STARTED", "STARTED", "SUCCESS")


def test_a_world_file_that_passed_is_not_checked_again_but_a_sent_document_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mockserver import checked
    from mockserver.worlds import document

    monkeypatch.setenv("ESDC_CACHE_DIR", str(tmp_path / "cache"))
    checked.forget()
    calls: list[object] = []
    real = document._check
    monkeypatch.setattr(document, "_check", lambda doc: calls.append(doc) or real(doc))
    read_world(DEMO_WORLD, DOC_TIME)
    checked.forget()  # as a new process: only the folder remembers
    read_world(DEMO_WORLD, DOC_TIME)
    assert len(calls) == 1
    from_doc(minimal(), DOC_TIME)
    from_doc(minimal(), DOC_TIME)
    assert len(calls) == 3
    broken = tmp_path / "broken.yaml"
    broken.write_text(yaml.safe_dump({**minimal(), "datacenters": "none"}))
    for _ in range(2):
        with pytest.raises(WorldError):
            read_world(broken, DOC_TIME)
    assert len(calls) == 5
