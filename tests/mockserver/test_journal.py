"""The request journal: what was sent to a world's /api/, filtered, bounded, cleared."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import datetime

import httpx
import pytest

from mockserver import create_app
from mockserver.journal import Entry, Journal, Query
from tests.conftest import DOC_TIME, LiveServer, auth, frozen_settings, serve_in_thread

STARTED = "3e3d1-4b1d9e06-2c7a-4f83-8e15"
_names = itertools.count()


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    yield from serve_in_thread(create_app(frozen_settings(journal_size=50)))


@pytest.fixture
def world(server: LiveServer) -> Iterator[tuple[httpx.Client, str]]:
    """A client and the base path of a fresh named world: each test its own journal."""
    name = f"j{next(_names)}"
    with server.client() as client:
        assert client.post("/control/worlds/", json={"name": name}).status_code == 201
        yield client, f"/w/{name}"
        client.delete(f"/control/worlds/{name}/")


def journal(client: httpx.Client, base: str, **query: object) -> dict:  # type: ignore[type-arg]
    response = client.get(f"{base}/control/requests/", params=query)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def test_each_request_is_journaled_with_who_what_and_how_it_was_answered(
    world: tuple[httpx.Client, str],
) -> None:
    client, base = world
    client.get(f"{base}/api/task/{STARTED}/status/", headers=auth("alice"))
    client.get(f"{base}/api/task/", params={"dc": "main"})
    client.put(f"{base}/api/task/{STARTED}/cancel/", headers=auth("alice"), json={"force": 1})
    client.get(f"{base}/api/nowhere/")
    client.post(f"{base}/control/clock/advance/", json={"seconds": 1})  # not the task API's

    found = journal(client, base)
    rows = [
        (r["seq"], r["method"], r["path"], r["query"], r["user"], r["operation"], r["status"])
        for r in found["requests"]
    ]
    assert rows == [
        (1, "GET", f"/api/task/{STARTED}/status/", "", "alice", "taskStatus", 201),
        (2, "GET", "/api/task/", "dc=main", None, "taskList", 403),
        (3, "PUT", f"/api/task/{STARTED}/cancel/", "", "alice", "taskCancel", 410),
        (4, "GET", "/api/nowhere/", "", None, None, 404),
    ]
    status, _, cancel, _ = found["requests"]
    assert status["at"] == DOC_TIME.isoformat()  # the world's clock, frozen
    assert datetime.fromisoformat(status["received"]).year >= 2026
    assert status["response_bytes"] > 0 and status["duration_ms"] > 0
    assert cancel["request_bytes"] == len(b'{"force":1}')
    assert (found["size"], found["recorded"], found["processes"]) == (50, 4, 1)


@pytest.mark.parametrize(
    ("query", "seqs"),
    [
        ({"path": "/api/task/*/status/"}, [1, 3]),
        ({"user": "alice"}, [1, 3, 4]),
        ({"user": ""}, [2]),
        ({"status": "4xx"}, [2, 4]),
        ({"status": "201"}, [1, 3]),
        ({"method": "PUT"}, [4]),
        ({"operation": "taskStatus"}, [1, 3]),
        ({"since": 2}, [3, 4]),
        ({"limit": 2}, [3, 4]),
        ({"operation": "taskStatus", "limit": 1}, [3]),
    ],
)
def test_the_journal_is_filtered_by_path_user_status_and_operation(
    world: tuple[httpx.Client, str], query: dict[str, object], seqs: list[int]
) -> None:
    client, base = world
    client.get(f"{base}/api/task/{STARTED}/status/", headers=auth("alice"))
    client.get(f"{base}/api/task/")
    client.get(f"{base}/api/task/{STARTED}/status/", headers=auth("alice"))
    client.put(f"{base}/api/task/{STARTED}/cancel/", headers=auth("alice"))
    assert [r["seq"] for r in journal(client, base, **query)["requests"]] == seqs


def test_an_app_that_never_cancels_twice_is_seen_to(world: tuple[httpx.Client, str]) -> None:
    """The kind of assertion a frontend test makes: cancels per task, polls per second."""
    client, base = world
    for _ in range(3):
        client.get(f"{base}/api/task/{STARTED}/status/", headers=auth("alice"))
    client.put(f"{base}/api/task/{STARTED}/cancel/", headers=auth("alice"))
    cancels = journal(client, base, operation="taskCancel")["requests"]
    polls = journal(client, base, operation="taskStatus")["requests"]
    assert [c["path"] for c in cancels] == [f"/api/task/{STARTED}/cancel/"]
    moments = [datetime.fromisoformat(p["received"]) for p in polls]
    assert moments == sorted(moments) and len(moments) == 3


def test_clearing_the_journal_starts_it_again(world: tuple[httpx.Client, str]) -> None:
    client, base = world
    client.get(f"{base}/api/ping/")
    cleared = client.delete(f"{base}/control/requests/")
    client.get(f"{base}/api/ping/")
    after = journal(client, base)
    assert cleared.json() == {"cleared": 1}
    assert [r["seq"] for r in after["requests"]] == [1] and after["recorded"] == 1


def test_each_world_has_a_journal_of_its_own(world: tuple[httpx.Client, str]) -> None:
    client, base = world
    client.get(f"{base}/api/ping/")
    own = journal(client, "", operation="ping")["requests"]
    assert len(journal(client, base)["requests"]) == 1 and own == []


@pytest.mark.parametrize(
    "query", [{"status": "teapot"}, {"since": -1}, {"limit": "many"}, {"method": "BREW"}]
)
def test_bad_journal_queries_get_a_clear_400(
    world: tuple[httpx.Client, str], query: dict[str, object]
) -> None:
    client, base = world
    response = client.get(f"{base}/control/requests/", params=query)
    assert response.status_code == 400
    assert next(iter(query)) in response.json()["detail"]


def test_the_journal_keeps_only_its_last_requests() -> None:
    journal = Journal(3)
    for n in range(5):
        journal.add(
            Entry(float(n), DOC_TIME, "GET", f"/api/{n}/", b"", None, None, 200, 0.0, None, 0, "")
        )
    assert [e.seq for e in journal.select(Query())] == [3, 4, 5]
    assert journal.recorded == 5


def test_a_journal_of_size_zero_keeps_nothing() -> None:
    for live in serve_in_thread(create_app(frozen_settings(journal_size=0))):
        with live.client() as client:
            client.get("/api/ping/")
            found = client.get("/control/requests/").json()
    assert (found["size"], found["requests"]) == (0, [])
