"""Named worlds under /w/{name}/: isolated from each other and from the server's own world."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from mockserver import create_app
from tests.conftest import DOC_TIME, LiveServer, auth, frozen_settings, serve_in_thread

STARTED = "3e3d1-4b1d9e06-2c7a-4f83-8e15"  # alice's snapshot of web01, STARTED at DOC_TIME
OWN_WORLD = {
    "format": "esdc-world/1",
    "datacenters": [{"id": 1, "name": "main", "default": True}],
    "users": [
        {"id": 1, "username": "admin", "password": "admin", "api_key": "k", "staff": True,
         "current_dc": "main"}
    ],
}  # fmt: skip


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    yield from serve_in_thread(create_app(frozen_settings(max_worlds=150)))


@pytest.fixture
def client(server: LiveServer) -> Iterator[httpx.Client]:
    with server.client() as client:
        yield client
        for world in client.get("/control/worlds/").json()["worlds"]:
            client.delete(f"/control/worlds/{world['name']}/")


def make(client: httpx.Client, name: str, **body: object) -> dict:  # type: ignore[type-arg]
    response = client.post("/control/worlds/", json={"name": name, **body})
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def status(client: httpx.Client, base: str, task: str = STARTED) -> str:
    answer = client.get(f"{base}/api/task/{task}/status/", headers=auth("alice"))
    return str(answer.json()["status"])


def test_a_new_world_is_the_server_world_as_it_started(client: httpx.Client) -> None:
    world = make(client, "w1")
    assert (world["api"], world["control"]) == ("/w/w1/api/", "/w/w1/control/")
    assert world["clock"]["now"] == DOC_TIME.isoformat()
    own = client.get("/control/").json()
    assert (world["tasks"], world["log_entries"]) == (own["tasks"], own["log_entries"])
    assert status(client, "/w/w1") == status(client, "") == "STARTED"


def test_what_happens_in_one_world_stays_there(client: httpx.Client) -> None:
    make(client, "w1")
    make(client, "w2")
    cancel = client.put(f"/w/w1/api/task/{STARTED}/cancel/", headers=auth("alice"))
    client.post("/w/w2/control/clock/advance/", json={"seconds": 3600})
    created = client.post("/w/w2/control/tasks/", json={"creator": "bob"}).json()["task_id"]

    assert cancel.status_code == 410
    assert (status(client, "/w/w1"), status(client, "/w/w2"), status(client, "")) == (
        "REVOKED",
        "SUCCESS",
        "STARTED",
    )
    clocks = [client.get(f"{base}/control/clock/").json()["now"] for base in ("/w/w1", "")]
    assert clocks == [DOC_TIME.isoformat()] * 2
    assert client.get(f"/control/tasks/{created}/").status_code == 404
    assert client.get(f"/w/w1/control/tasks/{created}/").status_code == 404


def test_a_world_answers_with_its_own_urls(client: httpx.Client) -> None:
    make(client, "w1")
    page = client.get("/w/w1/api/task/log/?page=1", headers=auth("alice"))
    redirected = client.get("/w/w1/api/task", headers=auth("alice"))
    spec = client.get("/w/w1/api/openapi.json").json()
    control_spec = client.get("/w/w1/control/openapi.json").json()
    root = client.get("/w/w1/")
    assert page.status_code == 200
    assert page.headers["es_username"] == "alice" and page.headers["es_dc"] == "main"
    assert page.json()["next"].endswith("/w/w1/api/task/log/?page=2")
    assert (redirected.status_code, redirected.headers["location"]) == (
        301,
        f"{str(client.base_url).rstrip('/')}/w/w1/api/task/",
    )
    assert spec["servers"] == [{"url": "/w/w1/api"}]
    assert control_spec["servers"] == [{"url": "/w/w1/control"}]
    assert root.headers["location"].endswith("/w/w1/api/ui/")


def test_a_world_can_be_made_from_a_world_file_of_its_own(client: httpx.Client) -> None:
    world = make(client, "own", world=OWN_WORLD, at="2027-01-01T00:00:00Z", scale=0)
    pong = client.get("/w/own/api/task/", headers={"ES-API-KEY": "k"})
    alice = client.get("/w/own/api/task/", headers=auth("alice"))
    assert world["clock"] == {"now": "2027-01-01T00:00:00+00:00", "scale": 0, "frozen": True}
    assert (pong.status_code, pong.json()) == (200, [])
    assert alice.status_code == 403


def test_a_reset_in_a_world_rebuilds_that_world_only(client: httpx.Client) -> None:
    make(client, "w1")
    client.put(f"/w/w1/api/task/{STARTED}/cancel/", headers=auth("alice"))
    client.put(f"/api/task/{STARTED}/cancel/", headers=auth("bob"))  # not bob's: refused
    reset = client.post("/w/w1/control/reset/", json={})
    assert reset.status_code == 200
    assert status(client, "/w/w1") == "STARTED"


def test_a_deleted_world_is_gone(client: httpx.Client) -> None:
    make(client, "w1")
    deleted = client.delete("/control/worlds/w1/")
    api = client.get("/w/w1/api/task/", headers=auth("alice"))
    again = client.delete("/control/worlds/w1/")
    assert deleted.status_code == 200
    assert api.status_code == 404 and "No world 'w1'" in api.json()["detail"]
    assert again.status_code == 404 and "GET /control/worlds/" in again.json()["detail"]


@pytest.mark.parametrize(
    ("body", "status_code", "fragment"),
    [
        ({"name": "w1"}, 409, "exists already"),
        ({"name": "no/slash"}, 400, "name"),
        ({"name": "-dash"}, 400, "name"),
        ({"name": "x", "colour": "red"}, 400, "colour"),
        ({"name": "x", "at": "yesterday"}, 400, "at"),
        ({"name": "x", "world": {"format": "esdc-world/1", "users": "none"}}, 400, "world"),
        (
            {"name": "x", "world": {"users": []}},
            400,
            "as a World, 'format' is a required property; as a DeploymentExport,",
        ),
        (
            {
                "name": "x",
                "world": {"format": "esdc-world/1", "datacenters": [{"id": 1}], "users": []},
            },
            400,
            "as a World, datacenters[0]: 'name' is a required property",
        ),
    ],
)
def test_bad_worlds_get_a_clear_error_and_make_nothing(
    client: httpx.Client, body: dict[str, object], status_code: int, fragment: str
) -> None:
    make(client, "w1")
    response = client.post("/control/worlds/", json=body)
    assert response.status_code == status_code, response.text
    assert fragment in response.json()["detail"]
    assert [w["name"] for w in client.get("/control/worlds/").json()["worlds"]] == ["w1"]


def test_a_hundred_worlds_fit_and_each_keeps_to_itself(client: httpx.Client) -> None:
    for n in range(100):
        make(client, f"worker-{n}")
    for n in range(0, 100, 2):
        client.put(f"/w/worker-{n}/api/task/{STARTED}/cancel/", headers=auth("alice"))
    listed = client.get("/control/worlds/").json()
    assert len(listed["worlds"]) == 100 and listed["limit"] == 150
    # a copy of the demo world's store: about 420 KiB (python -m bench.worlds measures the
    # memory, about 600 KiB a world); ten times that would no longer be cheap
    assert max(w["store_bytes"] for w in listed["worlds"]) < 1024 * 1024
    assert [status(client, f"/w/worker-{n}") for n in range(6)] == ["REVOKED", "STARTED"] * 3


def test_the_server_refuses_worlds_beyond_its_limit() -> None:
    for live in serve_in_thread(create_app(frozen_settings(max_worlds=1))):
        with live.client() as client:
            make(client, "one")
            refused = client.post("/control/worlds/", json={"name": "two"})
    assert refused.status_code == 409 and "holds 1 worlds" in refused.json()["detail"]


def test_worlds_are_refused_when_several_processes_serve(tmp_path: object) -> None:
    for live in serve_in_thread(create_app(frozen_settings(workers=2))):
        with live.client() as client:
            refused = client.post("/control/worlds/", json={"name": "one"})
    assert refused.status_code == 409 and "--workers" in refused.json()["detail"]


def test_a_world_under_response_validation_calls_its_own_handlers() -> None:
    for live in serve_in_thread(create_app(frozen_settings(validate_responses=True))):
        with live.client() as client:
            make(client, "w1")
            client.put(f"/w/w1/api/task/{STARTED}/cancel/", headers=auth("alice"))
            seen = (status(client, "/w/w1"), status(client, ""))
    assert seen == ("REVOKED", "STARTED")
