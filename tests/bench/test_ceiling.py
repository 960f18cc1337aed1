"""The ceiling's bare application sends ours's recorded answers byte for byte (no timed tests:
the figures come from ``python -m bench.ceiling``)."""

from __future__ import annotations

import asyncio
from typing import Any

from bench.ceiling import Recorded, Row, bare_app, record, rows_table
from bench.wrk import WrkResult
from tests.conftest import LiveServer


def answer_of(app: Any, path: str, query: bytes = b"") -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "path": path, "query_string": query, "headers": []}
    asyncio.run(app(scope, receive, send))
    return sent


def test_ours_answers_are_recorded_as_sent(live_server: LiveServer) -> None:
    recorded = record(live_server.url + "/api/task/log/?page=1")
    headers = dict(recorded.headers)
    assert recorded.status == 200
    assert headers[b"es_version"] == b"4.6"
    assert headers[b"content-length"] == str(len(recorded.body)).encode()
    assert b"server" not in headers  # uvicorn adds its own
    assert b"connection" not in headers  # urllib asked to close; the load keeps alive
    assert recorded.body.startswith(b"{")
    missing = record(live_server.url + "/api/task/nothing-like-a-task/status/")
    assert missing.status == 403  # an error status is recorded too


def test_the_bare_app_sends_each_recorded_answer_and_404_otherwise() -> None:
    page = Recorded(200, [(b"content-type", b"application/json"), (b"es_dc", b"main")], b"{}")
    listed = Recorded(201, [(b"content-length", b"2")], b"[]")
    app = bare_app({"/api/task/log/?page=1": page, "/api/task/": listed})
    start, body = answer_of(app, "/api/task/log/", b"page=1")
    assert (start["status"], start["headers"], body["body"]) == (200, page.headers, b"{}")
    assert answer_of(app, "/api/task/")[0]["status"] == 201
    assert answer_of(app, "/api/task/log/")[0]["status"] == 404  # without its query


def test_a_recorded_answer_survives_its_trip_through_the_environment() -> None:
    recorded = Recorded(200, [(b"es_username", b"j\xe9r\xf4me")], bytes(range(256)))
    assert Recorded.from_json(recorded.as_json()) == recorded


def test_the_table_has_a_column_per_server_and_leaves_missing_ones_blank() -> None:
    fast = WrkResult(20000, 2_000_000, 0, 0, {50.0: 800, 99.0: 1700}, {200: 20000})
    text = rows_table([Row("stats", {"ours": fast})], ["ours", "bare"])
    assert "| stats " in text
    assert "10,000" in text and "0.80 / 1.70" in text
    assert text.splitlines()[0].count("|") == 6
