"""Fault rules: delays on the world's clock, dropped connections, early 429s, system updates
and a failing result backend, per operation, per user, with a probability or for N requests."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

import httpx
import pytest

from mockserver import create_app
from tests.conftest import LiveServer, auth, frozen_settings, serve_in_thread

STARTED = "3e3d1-4b1d9e06-2c7a-4f83-8e15"  # alice's, STARTED at the documentation clock
_names = itertools.count()


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    yield from serve_in_thread(create_app(frozen_settings()))


@pytest.fixture
def world(server: LiveServer) -> Iterator[tuple[httpx.Client, str]]:
    """A client and the base path of a fresh named world (its clock frozen)."""
    name = f"f{next(_names)}"
    with server.client(timeout=30) as client:
        assert client.post("/control/worlds/", json={"name": name}).status_code == 201
        yield client, f"/w/{name}"
        client.delete(f"/control/worlds/{name}/")


def add(client: httpx.Client, base: str, **rule: object) -> dict:  # type: ignore[type-arg]
    response = client.post(f"{base}/control/faults/", json=rule)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def until(condition: Callable[[], bool], what: str) -> None:
    """Wait for something the test cannot be told about (another thread's request arriving)."""
    deadline = time.monotonic() + 30
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.01)


def in_thread(call: Callable[[], httpx.Response]) -> tuple[threading.Thread, list[object]]:
    result: list[object] = []
    thread = threading.Thread(target=lambda: result.append(call()), daemon=True)
    thread.start()
    return thread, result


def held(client: httpx.Client, base: str) -> int:
    return int(client.get(f"{base}/control/faults/").json()["held"])


def test_a_delay_on_a_frozen_clock_holds_the_answer_until_the_clock_moves_past_it(
    world: tuple[httpx.Client, str], server: LiveServer
) -> None:
    client, base = world
    add(client, base, fault="delay", operations=["taskStatus"], delay_ms=2000)
    with server.client("alice", timeout=30) as poller:
        thread, answer = in_thread(lambda: poller.get(f"{base}/api/task/{STARTED}/status/"))
        until(lambda: held(client, base) == 1, "the status request to be held")
        listed = client.get(f"{base}/api/task/", headers=auth("alice"))  # not a status read
        client.post(f"{base}/control/clock/advance/", json={"seconds": 1})
        still = held(client, base)
        client.post(f"{base}/control/clock/advance/", json={"seconds": 1})
        thread.join(30)
    assert listed.status_code == 200 and still == 1
    assert [a.status_code for a in answer] == [201]  # type: ignore[attr-defined]
    entry = client.get(f"{base}/control/requests/", params={"operation": "taskStatus"}).json()
    assert entry["requests"][0]["shaped_by"] == "rule-1"


def test_a_delay_is_a_sixtieth_of_itself_at_scale_sixty(world: tuple[httpx.Client, str]) -> None:
    """The delay runs on the world's clock: an answer held 60 s comes 60 s later by it."""
    client, base = world
    add(client, base, fault="delay", delay_ms=60_000)
    client.post(f"{base}/control/clock/run/", json={"scale": 600})
    answer = client.get(f"{base}/api/ping/")
    after = datetime.fromisoformat(client.get(f"{base}/control/clock/").json()["now"])
    arrived = datetime.fromisoformat(
        client.get(f"{base}/control/requests/").json()["requests"][0]["at"]
    )
    assert answer.status_code == 200
    assert after - arrived >= timedelta(seconds=60)


def test_a_delay_in_real_time_ignores_the_frozen_clock(world: tuple[httpx.Client, str]) -> None:
    client, base = world
    add(client, base, fault="delay", delay_ms=50, clock="real")
    answer = client.get(f"{base}/api/ping/")
    entry = client.get(f"{base}/control/requests/").json()["requests"][0]
    assert answer.status_code == 200 and entry["duration_ms"] >= 50


def test_a_random_delay_holds_each_request_between_its_bounds(
    world: tuple[httpx.Client, str], server: LiveServer
) -> None:
    """Eight requests held 1 to 3 s of a frozen clock: none comes before 1 s, some by 2 s,
    the rest by 3 s (the draws are seeded, so the split is the same on every run)."""
    client, base = world
    add(client, base, fault="delay", operations=["ping"], delay_ms=1000, delay_max_ms=3000)
    with server.client(timeout=60) as app:
        calls = [in_thread(lambda: app.get(f"{base}/api/ping/")) for _ in range(8)]
        until(lambda: held(client, base) == 8, "the eight requests to be held")
        client.post(f"{base}/control/clock/advance/", json={"seconds": 0.99})
        time.sleep(0.3)  # time enough for a released request to be answered, were it one
        early = held(client, base)
        client.post(f"{base}/control/clock/advance/", json={"seconds": 1.01})
        until(lambda: held(client, base) < 8, "the first of them to be answered")
        time.sleep(0.3)
        by_two = held(client, base)
        client.post(f"{base}/control/clock/advance/", json={"seconds": 1})
        for thread, _ in calls:
            thread.join(30)
    assert early == 8 and 0 < by_two < 8
    assert [answer[0].status_code for _, answer in calls] == [200] * 8  # type: ignore[attr-defined]


def test_a_lost_result_backend_fails_the_reads_of_a_task_and_nothing_else(
    world: tuple[httpx.Client, str],
) -> None:
    client, base = world
    add(client, base, fault="result_backend", backend="unreachable")
    reads = [
        client.get(f"{base}/api/task/{STARTED}/{view}/", headers=auth("alice"))
        for view in ("status", "state", "done")
    ]
    listed = client.get(f"{base}/api/task/", headers=auth("alice"))
    client.put(
        f"{base}/control/faults/", json={"rules": [{"fault": "result_backend", "backend": "error"}]}
    )
    error = client.get(f"{base}/api/task/{STARTED}/status/", headers=auth("alice"))
    assert [r.status_code for r in reads] == [502] * 3
    assert all("detail" in r.json() for r in reads)
    assert listed.status_code == 200
    assert error.status_code == 500


def test_a_dropped_request_never_reaches_the_server(world: tuple[httpx.Client, str]) -> None:
    client, base = world
    add(client, base, fault="drop", operations=["taskCancel"], times=1)
    with pytest.raises(httpx.RemoteProtocolError):
        client.put(f"{base}/api/task/{STARTED}/cancel/", headers=auth("alice"))
    state = client.get(f"{base}/control/tasks/{STARTED}/").json()["state"]
    again = client.put(f"{base}/api/task/{STARTED}/cancel/", headers=auth("alice"))
    journaled = client.get(f"{base}/control/requests/").json()["requests"]
    assert state == "STARTED" and again.status_code == 410
    assert [(r["status"], r["dropped"]) for r in journaled] == [(0, True), (410, False)]


def test_a_dropped_answer_loses_a_cancel_that_went_through(
    world: tuple[httpx.Client, str],
) -> None:
    client, base = world
    add(client, base, fault="drop", stage="response", operations=["taskCancel"])
    with pytest.raises(httpx.RemoteProtocolError):
        client.put(f"{base}/api/task/{STARTED}/cancel/", headers=auth("alice"))
    assert client.get(f"{base}/control/tasks/{STARTED}/").json()["state"] == "REVOKED"


def test_an_early_throttle_for_one_user(world: tuple[httpx.Client, str]) -> None:
    client, base = world
    add(client, base, fault="throttle", user="alice", retry_after=30)
    alice = client.get(f"{base}/api/task/", headers=auth("alice"))
    bob = client.get(f"{base}/api/task/", headers=auth("bob"))
    assert (alice.status_code, alice.headers["retry-after"]) == (429, "30")
    assert alice.json() == {"detail": "Request was throttled. Expected available in 30.0 seconds."}
    assert alice.headers["es_username"] == "alice"
    assert bob.status_code == 200


def test_a_system_update_for_the_next_two_requests_of_non_staff_users(
    world: tuple[httpx.Client, str],
) -> None:
    client, base = world
    add(client, base, fault="system_update", times=2)
    admin = client.get(f"{base}/api/task/", headers=auth("admin"))
    answers = [client.get(f"{base}/api/task/", headers=auth("alice")) for _ in range(3)]
    rule = client.get(f"{base}/control/faults/rule-1/").json()
    assert admin.status_code == 200
    assert [a.status_code for a in answers] == [503, 503, 200]
    assert answers[0].json() == {"detail": "System update in progress"}
    assert (rule["fired"], rule["times"]) == (2, 0)


def test_a_result_backend_timeout_on_cancel_fails_after_the_revoke(
    world: tuple[httpx.Client, str],
) -> None:
    client, base = world
    add(client, base, fault="result_backend", backend="timeout", operations=["taskCancel"])
    cancel = client.put(f"{base}/api/task/{STARTED}/cancel/", headers=auth("alice"))
    status = client.get(f"{base}/api/task/{STARTED}/status/", headers=auth("alice"))
    assert cancel.status_code == 504
    assert cancel.json()["detail"].startswith("TimeoutError")
    assert status.status_code == 410  # the revoke went through; only its read failed


def test_a_rule_that_never_fires(world: tuple[httpx.Client, str]) -> None:
    client, base = world
    add(client, base, fault="system_update", probability=0)
    answers = {client.get(f"{base}/api/task/", headers=auth("alice")).status_code for _ in range(5)}
    assert answers == {200}
    assert client.get(f"{base}/control/faults/rule-1/").json()["fired"] == 0


def test_half_the_requests_fail_with_probability_one_half(
    world: tuple[httpx.Client, str],
) -> None:
    client, base = world
    add(client, base, fault="system_update", probability=0.5)
    codes = [client.get(f"{base}/api/ping/", headers=auth("bob")).status_code for _ in range(40)]
    fired = client.get(f"{base}/control/faults/rule-1/").json()["fired"]
    assert set(codes) == {200, 503} and codes.count(503) == fired


def test_failures_are_a_view_onto_two_rules(world: tuple[httpx.Client, str]) -> None:
    client, base = world
    client.put(f"{base}/control/failures/", json={"system_update": True, "result_backend": "error"})
    rules = client.get(f"{base}/control/faults/").json()["rules"]
    client.delete(f"{base}/control/faults/failures-system-update/")
    shown = client.get(f"{base}/control/failures/").json()
    assert {r["id"]: r["fault"] for r in rules} == {
        "failures-system-update": "system_update",
        "failures-result-backend": "result_backend",
    }
    assert shown == {"system_update": False, "result_backend": "error"}


def test_a_new_world_starts_without_fault_rules(world: tuple[httpx.Client, str]) -> None:
    client, base = world
    add(client, base, fault="throttle")
    client.post(f"{base}/control/reset/", json={})
    assert client.get(f"{base}/control/faults/").json()["rules"] == []


def test_rules_can_be_replaced_named_and_removed(world: tuple[httpx.Client, str]) -> None:
    client, base = world
    put = client.put(
        f"{base}/control/faults/",
        json={"rules": [{"fault": "throttle"}, {"id": "slow", "fault": "delay", "delay_ms": 5}]},
    )
    removed = client.delete(f"{base}/control/faults/slow/")
    gone = client.get(f"{base}/control/faults/slow/")
    cleared = client.delete(f"{base}/control/faults/")
    assert [r["id"] for r in put.json()["rules"]] == ["rule-1", "slow"]
    assert removed.json()["id"] == "slow"
    assert gone.status_code == 404 and "rule-1" in gone.json()["detail"]
    assert cleared.json() == {"rules": [], "held": 0}


@pytest.mark.parametrize(
    ("rule", "fragment"),
    [
        ({"fault": "explode"}, "fault"),
        ({"fault": "delay"}, "delay_ms"),
        ({"fault": "delay", "delay_ms": 10, "delay_max_ms": 5}, "delay_max_ms"),
        ({"fault": "throttle", "operations": ["launchRocket"]}, "launchRocket"),
        ({"fault": "result_backend", "operations": ["taskList"]}, "taskStatus"),
        ({"fault": "throttle", "user": "mallory"}, "no user 'mallory'"),
        ({"fault": "throttle", "probability": 2}, "probability"),
        ({"fault": "throttle", "colour": "red"}, "colour"),
        ({"fault": "drop", "stage": "later"}, "stage"),
    ],
)
def test_bad_rules_get_a_clear_400_and_change_nothing(
    world: tuple[httpx.Client, str], rule: dict[str, object], fragment: str
) -> None:
    client, base = world
    response = client.post(f"{base}/control/faults/", json=rule)
    assert response.status_code == 400, response.text
    assert fragment in response.json()["detail"]
    assert client.get(f"{base}/control/faults/").json()["rules"] == []
