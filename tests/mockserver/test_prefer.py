"""Prism-compatible Prefer: code=, example=, the __code/__example query forms, delay=."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from esdc_api.spec import load_spec
from mockserver import create_app
from mockserver.prefer import Preference, PreferError, PreferTable, parse
from tests.conftest import LiveServer, auth, frozen_settings, serve_in_thread

STARTED = "3e3d1-4b1d9e06-2c7a-4f83-8e15"  # alice's, STARTED at the documentation clock
STATUS = f"/api/task/{STARTED}/status/"
_names = itertools.count()


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    yield from serve_in_thread(create_app(frozen_settings()))


@pytest.fixture
def world(server: LiveServer) -> Iterator[tuple[httpx.Client, str]]:
    name = f"p{next(_names)}"
    with server.client(timeout=30) as client:
        assert client.post("/control/worlds/", json={"name": name}).status_code == 201
        yield client, f"/w/{name}"
        client.delete(f"/control/worlds/{name}/")


def test_a_code_answers_with_that_documented_response_and_the_callers_headers(
    world: tuple[httpx.Client, str],
) -> None:
    client, base = world
    answer = client.get(f"{base}{STATUS}", headers={**auth("bob"), "Prefer": "code=410"})
    assert answer.status_code == 410
    assert answer.json() == {
        "status": "REVOKED",
        "result": "TaskRevokedError: terminated",
        "task_id": STARTED,  # the request's task, in the example's place
    }
    assert answer.headers["es_task_response"] == "true"  # documented for this answer
    assert (answer.headers["es_username"], answer.headers["es_dc"]) == ("bob", "main")
    assert answer.headers["preference-applied"] == "code=410, example=revoked"


@pytest.mark.parametrize(
    ("prefer", "status", "shown"),
    [
        ("example=started", 201, "STARTED"),
        ("code=201, example=unknown", 201, "PENDING"),
        ('code=200; example="success"', 200, "SUCCESS"),
        ("code=205", 205, "SUCCESS"),
    ],
)
def test_an_example_by_name_with_or_without_a_code(
    world: tuple[httpx.Client, str], prefer: str, status: int, shown: str
) -> None:
    client, base = world
    answer = client.get(f"{base}{STATUS}", headers={**auth("alice"), "Prefer": prefer})
    assert (answer.status_code, answer.json()["status"]) == (status, shown)


def test_the_query_forms_answer_where_headers_are_awkward(
    world: tuple[httpx.Client, str],
) -> None:
    client, base = world
    throttled = client.get(f"{base}{STATUS}", params={"__code": "429"}, headers=auth("alice"))
    empty = client.get(
        f"{base}/api/task/log/", params={"page": 1, "__example": "empty"}, headers=auth("alice")
    )
    header_wins = client.get(
        f"{base}{STATUS}",
        params={"__code": "429"},
        headers={**auth("alice"), "Prefer": "code=400"},
    )
    assert (throttled.status_code, throttled.headers["retry-after"]) == (429, "21")
    assert empty.json() == {"count": 0, "next": None, "previous": None, "results": []}
    assert header_wins.status_code == 400


def test_a_forced_answer_changes_nothing_in_the_world(world: tuple[httpx.Client, str]) -> None:
    client, base = world
    cancel = client.put(
        f"{base}/api/task/{STARTED}/cancel/", headers={**auth("alice"), "Prefer": "code=410"}
    )
    assert cancel.status_code == 410
    assert client.get(f"{base}/control/tasks/{STARTED}/").json()["state"] == "STARTED"


def test_the_checks_before_the_operation_still_run(world: tuple[httpx.Client, str]) -> None:
    client, base = world
    anonymous = client.get(f"{base}{STATUS}", headers={"Prefer": "code=200"})
    wrong_method = client.post(f"{base}{STATUS}", headers={**auth("alice"), "Prefer": "code=200"})
    assert anonymous.status_code == 403 and "preference-applied" not in anonymous.headers
    assert wrong_method.status_code == 405


@pytest.mark.parametrize("url", ["/api/dc/lab/task/", "/api/task/?dc=lab"])
def test_a_forced_answer_names_the_datacenter_the_request_names(
    world: tuple[httpx.Client, str], url: str
) -> None:
    client, base = world
    real = client.get(f"{base}{url}", headers=auth("bob"))
    forced = client.get(f"{base}{url}", headers={**auth("bob"), "Prefer": "code=200"})
    elsewhere = client.get(f"{base}{url}", headers={**auth("alice"), "Prefer": "code=200"})
    assert (real.headers["es_dc"], forced.headers["es_dc"]) == ("lab", "lab")
    assert (elsewhere.status_code, elsewhere.headers["es_dc"]) == (200, "main")  # not hers


def test_answers_documented_without_the_es_headers_come_without_them(
    world: tuple[httpx.Client, str],
) -> None:
    client, base = world
    login = client.post(f"{base}/api/accounts/login/", headers={"Prefer": "code=400"})
    not_routed = client.get(
        f"{base}{STATUS}", headers={**auth("alice"), "Prefer": "example=notRouted"}
    )
    assert login.json() == {"detail": "Unable to log in with provided credentials."}
    assert not any(name.startswith("es_") for name in login.headers)
    assert (not_routed.status_code, not_routed.text) == (404, "Resource not found")


@pytest.mark.parametrize(
    ("prefer", "fragment"),
    [
        ("code=418", "documents 200, 201, 205, 400, 403, 404, 406, 410, 429"),
        ("example=gone", "201: pending, started, unknown"),
        ("code=200, example=revoked", "in its 200 answer; its examples are 200: success"),
        ("code=4100", "three digits"),
        ("delay=soon", "milliseconds"),
    ],
)
def test_what_cannot_be_met_gets_a_422_naming_the_choices(
    world: tuple[httpx.Client, str], prefer: str, fragment: str
) -> None:
    client, base = world
    answer = client.get(f"{base}{STATUS}", headers={**auth("alice"), "Prefer": prefer})
    assert answer.status_code == 422
    assert fragment in answer.json()["detail"]


def test_a_delay_holds_a_real_answer_until_the_worlds_clock_moves_past_it(
    world: tuple[httpx.Client, str], server: LiveServer
) -> None:
    client, base = world
    answers: list[httpx.Response] = []
    with server.client("alice", timeout=30) as poller:
        thread = threading.Thread(
            target=lambda: answers.append(
                poller.get(f"{base}{STATUS}", headers={"Prefer": "delay=5000"})
            )
        )
        thread.start()
        deadline = time.monotonic() + 30
        while client.get(f"{base}/control/faults/").json()["held"] == 0:
            assert time.monotonic() < deadline, "the request was never held"
            time.sleep(0.01)
        client.post(f"{base}/control/clock/advance/", json={"seconds": 5})
        thread.join(30)
    entry = client.get(f"{base}/control/requests/").json()["requests"][0]
    assert [a.status_code for a in answers] == [201]
    assert entry["shaped_by"] == "Prefer: delay=5000"


def test_the_preference_parameters_do_not_reach_the_operation(
    world: tuple[httpx.Client, str],
) -> None:
    client, base = world
    page = client.get(
        f"{base}/api/task/log/", params={"page": 1, "__delay": "0"}, headers=auth("alice")
    )
    assert page.status_code == 200 and "__delay" not in page.json()["next"]


def test_other_preferences_are_none_of_ours() -> None:
    assert parse("return=minimal, respond-async", b"") is None
    assert parse(None, b"page=1") is None
    assert parse("code=410", b"__code=200") == Preference(code=410, text="Prefer: code=410")


def test_every_operation_documents_an_example_for_each_code() -> None:
    """What a forced answer needs of the spec: each documented code has a body to send."""
    table = PreferTable.from_spec(load_spec())
    for operation, responses in table.operations.items():
        for code in responses:
            try:
                table.answer(operation, Preference(code=code))
            except PreferError as exc:  # pragma: no cover - the assertion says which
                pytest.fail(f"{operation} {code}: {exc}")
