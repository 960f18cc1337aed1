"""Kept answers: given again while true, never once the deployment or the clock changed them."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mockserver import create_app
from mockserver.answers import Answer, AnswerCache
from mockserver.clock import fixed_clock
from mockserver.lifecycle import RESULT_EXPIRES
from mockserver.tasklog import Visibility
from tests.conftest import DOC_TIME, LiveServer, auth, frozen_settings, serve_in_thread

SUCCEEDED = "3e3d1-8c2f4a17-5b3e-4d21-a9f0"
STARTED = "3e3d1-4b1d9e06-2c7a-4f83-8e15"


def answers_of(server: LiveServer) -> AnswerCache:
    cache = server.app.answers
    assert isinstance(cache, AnswerCache)
    return cache


def test_the_same_read_is_answered_again_from_the_cache_and_alike(live_server: LiveServer) -> None:
    with live_server.client("admin") as client:
        first = client.get("/api/task/log/?page=2&status=SUCCESS")
        hits = answers_of(live_server).hits
        again = client.get("/api/task/log/?page=2&status=SUCCESS")
    assert answers_of(live_server).hits == hits + 1
    assert (again.status_code, again.text) == (first.status_code, first.text)
    assert {k: v for k, v in again.headers.items() if k != "content-length"} == {
        k: v for k, v in first.headers.items() if k != "content-length"
    }


def test_a_write_changes_the_log_list_and_status_at_once(live_server: LiveServer) -> None:
    with live_server.client("alice") as client:
        reads = ["/api/task/", "/api/task/log/", "/api/task/log/?page=1", f"/api/task/{STARTED}/"]
        before = [client.get(path).text for path in reads]
        assert [client.get(path).text for path in reads] == before
        client.put(f"/api/task/{STARTED}/cancel/")
        after = [client.get(path) for path in reads]
        status = client.get(f"/api/task/{STARTED}/status/").json()["status"]
    assert all(a.text != b for a, b in zip(after, before, strict=True))
    assert after[-1].status_code == 404 and status == "REVOKED"


def test_a_status_changes_when_the_task_starts_and_when_its_result_expires(
    live_server: LiveServer,
) -> None:
    with live_server.client() as client:
        task = client.post("/control/tasks/", json={"creator": "bob", "queued": 30, "runs": 60})
        task_id = task.json()["task_id"]

        def poll() -> tuple[str, bool]:
            status = client.get(f"/api/task/{task_id}/status/", headers=auth("bob")).json()
            done = client.get(f"/api/task/{task_id}/done/", headers=auth("bob")).json()
            return status["status"], done["done"]

        seen = [poll(), poll()]
        for seconds in (29, 1, 60, RESULT_EXPIRES.total_seconds() - 1, 1):
            client.post("/control/clock/advance/", json={"seconds": seconds})
            seen.append(poll())
    assert seen == [
        ("PENDING", False),
        ("PENDING", False),
        ("PENDING", False),
        ("STARTED", False),
        ("SUCCESS", True),
        ("SUCCESS", True),
        ("PENDING", False),
    ]


def test_stats_change_when_their_oldest_entry_leaves_the_window(live_server: LiveServer) -> None:
    window = timedelta(hours=1)
    deployment = live_server.app.deployment
    admin, main = deployment.users[1], deployment.dcs[1]
    store, vis = deployment.store, Visibility.for_user(admin, 1, dc_is_default=True)
    oldest = store.log_first_since(vis, DOC_TIME - window)
    assert oldest is not None
    seen = []
    with live_server.client("admin") as client:
        # Stopped workers end no task meanwhile: only the window moves.
        client.put(
            "/control/workers/", json={"node": {"running": False}, "mgmt": {"running": False}}
        )
        # To the moment the oldest entry is at the window's edge, just past it, and on.
        for seconds in (0, 0, (oldest - (DOC_TIME - window)).total_seconds(), 1e-6, 0.5, 20):
            client.post("/control/clock/advance/", json={"seconds": seconds})
            answer = client.get(f"/api/task/log/stats/?last={int(window.total_seconds())}")
            assert answer.json() == deployment.log_stats(admin, main, 3600).as_json()
            seen.append(answer.json())
    assert seen[0] == seen[1] == seen[2] != seen[3], "the oldest entry left the window"
    assert live_server.app.answers is not None and live_server.app.answers.hits


@pytest.mark.parametrize("cache", [True, False])
def test_the_cache_can_be_turned_off(cache: bool) -> None:
    app = create_app(frozen_settings(cache=cache))
    assert (app.answers is not None) == cache


def answer(writes: int, until_seconds: float | None = None) -> Answer:
    until = None if until_seconds is None else DOC_TIME + timedelta(seconds=until_seconds)
    return Answer(200, b"{}", (), "main", writes, until)


def test_a_kept_answer_holds_until_a_write_or_its_moment() -> None:
    clock, writes = fixed_clock(DOC_TIME), [0]
    cache = AnswerCache(lambda: writes[0], clock.now)
    cache.put(("a",), answer(0))
    cache.put(("b",), answer(0, until_seconds=10))
    assert cache.get(("a",)) is not None and cache.get(("b",)) is not None
    clock.advance(10)
    assert cache.get(("a",)) is not None and cache.get(("b",)) is None
    writes[0] += 1
    assert cache.get(("a",)) is None


def test_the_least_recently_used_answer_goes_first() -> None:
    cache = AnswerCache(lambda: 0, fixed_clock(DOC_TIME).now, size=2)
    cache.put(("a",), answer(0))
    cache.put(("b",), answer(0))
    cache.get(("a",))
    cache.put(("c",), answer(0))
    assert [cache.get((k,)) is not None for k in "abc"] == [True, False, True]


def test_reads_of_other_callers_urls_or_accept_headers_are_kept_apart() -> None:
    for server in serve_in_thread(create_app(frozen_settings())):
        with server.client() as client:
            alice = client.get("/api/task/log/", headers=auth("alice")).json()
            bob = client.get("/api/task/log/", headers=auth("bob")).json()
            pretty = client.get(
                "/api/task/log/", headers={**auth("bob"), "Accept": "application/json; indent=2"}
            )
            prefixed = client.get("/api/dc/lab/task/log/", headers=auth("bob"))
        assert alice != bob and pretty.text.startswith('{\n  "results"')
        assert prefixed.headers["es_dc"] == "lab"
