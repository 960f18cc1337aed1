"""What the request pipeline keeps or skips to be quick gives the answers it gave without it:
headers looked up in a table, an operation's headers added in place, dates made once per
second, and the verdicts on URLs, query strings, task ids and parameter values kept."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest
from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import Message

from esdc_api.spec import load_spec
from mockserver import i18n
from mockserver.dispatch import Operations, query_params
from mockserver.errors import ApiError
from mockserver.ids import parse
from mockserver.journal import Note
from mockserver.middleware import RequestHeaders, deliver, http_date, http_date_bytes
from mockserver.routing import Router
from mockserver.validation import ParameterRules
from tests.conftest import LiveServer

SUCCEEDED = "3e3d1-8c2f4a17-5b3e-4d21-a9f0"


def scope_with(headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    return {"type": "http", "headers": headers}


def test_request_headers_read_as_starlettes_headers() -> None:
    raw = [
        (b"accept", b"application/json"),
        (b"x-twice", b"first"),
        (b"x-twice", b"second"),
        (b"es-api-key", b"k\xe9y"),
    ]
    ours, theirs = RequestHeaders(scope_with(list(raw))), Headers(raw=list(raw))
    for name in ("accept", "Accept", "X-TWICE", "es-api-key", "missing"):
        assert ours.get(name) == theirs.get(name)
        assert (name in ours) == (name in theirs)
    assert ours["x-twice"] == "first"
    assert ours.getlist("x-twice") == ["first", "second"]
    assert ours.get("missing", "default") == "default"
    with pytest.raises(KeyError):
        ours["missing"]
    assert 3 not in ours


def sent_by(response: Response, note: Note | None = None) -> list[Message]:
    messages: list[Message] = []

    async def send(message: Message) -> None:
        messages.append(message)

    at = datetime(2026, 12, 1, 10, 14, 26, 500000, tzinfo=UTC)
    asyncio.run(deliver(response, send, note, "it", at))
    return messages


def test_an_answer_gets_language_vary_and_date_last() -> None:
    note = Note(datetime.now(UTC))
    start, body = sent_by(Response(b'{"a": 1}', media_type="application/json"), note)
    assert start["status"] == 200
    assert start["headers"][-3:] == [
        (b"content-language", b"it"),
        (b"vary", i18n.VARY.encode()),
        (b"date", b"Tue, 01 Dec 2026 10:14:26 GMT"),
    ]
    assert body["body"] == b'{"a": 1}'
    assert (note.status, note.response_bytes) == (200, 8)


def test_an_answer_with_its_own_vary_and_date_keeps_one_of_each() -> None:
    response = Response(b"", status_code=301)
    response.raw_headers += [
        (b"vary", b"Accept"),
        (b"date", b"Thu, 01 Jan 1970 00:00:00 GMT"),
        (b"content-language", b"en"),
    ]
    start, _body = sent_by(response)
    headers = Headers(raw=start["headers"])
    assert headers.getlist("vary") == [f"Accept, {i18n.VARY}"]
    assert headers.getlist("date") == ["Tue, 01 Dec 2026 10:14:26 GMT"]
    assert headers.getlist("content-language") == ["it"]


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2026, 12, 1, 10, 14, 26, 999999, tzinfo=UTC),
        datetime(1969, 12, 31, 23, 59, 59, 500000, tzinfo=UTC),  # before the epoch
        datetime(1970, 1, 1, 0, 0, 0, 500000, tzinfo=UTC),
        datetime(2026, 12, 1, 11, 14, 26, tzinfo=UTC).astimezone(),  # not UTC
    ],
)
def test_dates_made_once_a_second_are_each_seconds_own(moment: datetime) -> None:
    """Moments in turn across second boundaries (the made date is kept for its second)."""
    for step in range(-3, 4):
        at = moment + timedelta(milliseconds=300 * step)
        expected = format_datetime(at.astimezone(UTC).replace(microsecond=0), usegmt=True)
        assert http_date_bytes(at) == expected.encode()
        assert http_date(at) == expected


def test_a_resolved_paths_parameters_are_the_callers_to_change() -> None:
    router = Router(load_spec(), "/api")
    first = router.resolve(f"/api/task/{SUCCEEDED}/status/")
    assert first is not None
    first[1]["task_id"] = "changed"
    again = router.resolve(f"/api/task/{SUCCEEDED}/status/")
    assert again is not None and again[1] == {"task_id": SUCCEEDED}
    assert again[0] is first[0]
    assert router.resolve("/api/nothing/") is None
    assert router.resolve("/api/nothing/") is None
    long = "/api/task/" + "x" * 600 + "/status/"  # too long to be kept, and still resolved
    for _ in range(2):
        found = router.resolve(long)
        assert found is not None and found[1] == {"task_id": "x" * 600}


def test_query_strings_parse_as_before() -> None:
    assert query_params(b"page=2&page=3&dc=main").getlist("page") == ["2", "3"]
    assert query_params(b"page=2&page=3&dc=main")["page"] == "3"
    assert dict(query_params(b"")) == {}


def test_a_task_id_parses_the_same_every_time() -> None:
    assert parse(SUCCEEDED) == parse(SUCCEEDED)
    assert parse(SUCCEEDED) is not None and parse(SUCCEEDED).dc == 1  # type: ignore[union-attr]
    assert parse("not-a-task-id") is None
    assert parse("not-a-task-id") is None


def test_a_values_verdict_is_the_same_the_second_time() -> None:
    rules = ParameterRules(load_spec()["paths"]["/task/log/"]["get"]["parameters"])
    refusals = []
    for _ in range(2):
        with pytest.raises(ApiError) as caught:
            rules.validate({}, query_params(b"page=1&date_from=2026-13-01"))
        refusals.append((caught.value.status, caught.value.body()))
        assert rules.validate({}, query_params(b"page=1&date_from=2026-1-1")) == {
            "page": 1,
            "date_from": "2026-1-1",
        }
    assert refusals[0] == refusals[1]
    assert refusals[0][0] == 400


def test_parameters_a_handler_changes_are_not_the_next_requests(app: Any) -> None:
    """The parameters of a URL that passed are kept; each call gets its own copy."""
    seen: list[dict[str, Any]] = []

    class Handlers:
        def __getattr__(self, name: str) -> Any:
            async def handler(call: Any) -> Response:
                seen.append(dict(call.params))
                call.params["page"] = 99
                return Response(b"{}")

            return handler

    operations = Operations(load_spec(), Handlers())
    operation = operations.get("/task/log/", "GET")
    assert operation is not None
    scope = {"query_string": b"page=2", "headers": []}
    for _ in range(2):
        asyncio.run(operation(scope, None, {}, Headers(raw=[]), None))  # type: ignore[arg-type]
    assert seen == [{"page": 2}, {"page": 2}]


def test_a_body_within_its_declared_length_reaches_the_operation(
    live_server: LiveServer,
) -> None:
    """A body whose length is declared within the limit is not counted on its way (only a
    chunked one is); it still arrives whole."""
    with live_server.client() as client:
        response = client.post(
            "/api/accounts/login/",
            content=b'{"username": "alice", "password": "alice"}',
            headers={"Content-Type": "application/json"},
        )
    assert response.status_code == 200
    assert "token" in response.json()


def test_a_reset_frees_the_world_it_replaces_though_the_server_froze_it() -> None:
    """``esdc-api serve`` freezes what its build made (``gc.freeze``: the collector no longer
    walks it); a world a reset replaces must still go, so it must not hang in cycles."""
    import gc
    import weakref

    import httpx

    from mockserver.app import create_app
    from tests.conftest import frozen_settings

    async def resets() -> list[object]:
        app = create_app(frozen_settings())
        gc.collect()
        gc.freeze()
        try:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as c:
                gone = []
                for _ in range(3):
                    gone.append(weakref.ref(app.deployment.store))
                    assert (await c.post("/control/reset/", json={})).status_code == 200
                    listed = await c.get("/api/task/", headers={"ES-API-KEY": "demo-admin-key"})
                    assert listed.status_code == 200
                gc.collect()  # walks what is not frozen only
                return [ref() for ref in gone]
        finally:
            gc.unfreeze()

    assert asyncio.run(resets()) == [None, None, None]
