"""A server that answers as the recording says: the replay's harness is tested against it.

It plays a reference server with a perfect memory: its control API takes the calls a replay
makes (and keeps them, in :attr:`FakeServer.calls`), and the n-th request it gets is answered
with the n-th recorded answer, once it has checked that the request is the recorded one with
its credentials filled in. What differs from run to run differs here too: each login gives a
new token (which later requests must send), and times after the seed move by a few seconds.
A test changes an answer by passing ``answers`` (n → a function of the recorded answer).
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

from esdc_api.replay.answer import Answer
from esdc_api.replay.transcript import Exchange
from esdc_api.replay.world import World

Rewrite = Callable[[Answer], Answer]
MISMATCH = 599
TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|\+00:00)")


class FakeServer:
    """An ASGI app: the control API under ``/control/``, the recorded answers elsewhere."""

    def __init__(
        self,
        exchanges: Sequence[Exchange],
        world: World,
        answers: Mapping[int, Rewrite] | None = None,
        control: bool = True,
    ) -> None:
        self.exchanges = list(exchanges)
        self.world = world
        self.answers = dict(answers or {})
        self.control = control
        self.calls: list[tuple[str, str, Any]] = []
        self.requests: list[tuple[str, bytes, list[tuple[bytes, bytes]]]] = []
        self.tokens: dict[int, str] = {}
        self.now: datetime | None = None
        self.position = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        if scope["path"].startswith("/control/"):
            status, payload = self.control_call(scope, body)
            answer = Answer(status, [("content-type", "application/json")], payload)
        else:
            answer = self.answer(scope, body)
        await send(
            {
                "type": "http.response.start",
                "status": answer.status,
                "headers": [(k.encode(), v.encode()) for k, v in answer.headers],
            }
        )
        await send({"type": "http.response.body", "body": answer.body})

    # The control API: just enough to keep what the replay asked, and refuse a clock going back.
    def control_call(self, scope: dict[str, Any], body: bytes) -> tuple[int, bytes]:
        if not self.control:
            return 404, b'{"detail": "Not found"}'
        method, path = scope["method"], scope["path"]
        payload: Any = json.loads(body) if body else None
        query = scope.get("query_string", b"").decode()
        self.calls.append((method, path + (f"?{query}" if query else ""), payload))
        if path == "/control/clock/set/":
            at = datetime.fromisoformat(payload["at"])
            if self.now is not None and at < self.now:
                return 409, b'{"detail": "backwards"}'
            self.now = at
        if path == "/control/world/" and method == "PUT":
            self.now = datetime.fromisoformat(parse_qs(query)["at"][0])
        clock = {"now": (self.now or datetime.now(UTC)).isoformat(), "scale": 0, "frozen": True}
        return 200, json.dumps(clock).encode()

    def answer(self, scope: dict[str, Any], body: bytes) -> Answer:
        self.requests.append((scope["method"], scope["raw_path"], list(scope["headers"])))
        exchange = self.exchanges[self.position]
        self.position += 1
        problem = self.mismatch(exchange, scope, body)
        if problem:
            return Answer(MISMATCH, [("content-type", "text/plain")], problem.encode())
        recorded = exchange.response
        text = recorded.body.decode()
        if exchange.n in {n for n in self.login_ns()}:
            token = secrets.token_hex(20)
            self.tokens[exchange.n] = token
            text = re.sub(r'"token":\s*"[0-9a-f]{40}"', f'"token": "{token}"', text)
        text = TIME.sub(self.later, text)
        answer = Answer(recorded.status, recorded.headers, text.encode())
        rewrite = self.answers.get(exchange.n)
        return rewrite(answer) if rewrite else answer

    def login_ns(self) -> set[int]:
        return {e.n for e in self.exchanges if b'"token"' in e.response.body}

    def later(self, found: re.Match[str]) -> str:
        """A time after the seed moved by 3 s, as another run would have it."""
        text = found.group(0)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        assert self.world.at is not None
        if moment <= self.world.at:
            return text
        moved = (moment + timedelta(seconds=3)).isoformat()
        return moved.replace("+00:00", "Z") if text.endswith("Z") else moved

    def mismatch(self, exchange: Exchange, scope: dict[str, Any], body: bytes) -> str:
        sent = exchange.request
        if scope["method"] != sent.method:
            return f"n={exchange.n}: method {scope['method']}, recorded {sent.method}"
        target = scope["raw_path"] + (
            b"?" + scope["query_string"] if scope["query_string"] else b""
        )
        if target != sent.target.encode():
            return f"n={exchange.n}: target {target!r}, recorded {sent.target!r}"
        expected = [(k.lower(), self.credential(v)) for k, v in sent.headers]
        got = [(k.decode(), v.decode()) for k, v in scope["headers"]]
        if expected != got:
            return f"n={exchange.n}: headers {got}, recorded {expected}"
        if body != (sent.body or "").encode():
            return f"n={exchange.n}: body {body!r}, recorded {sent.body!r}"
        return ""

    def credential(self, value: str) -> str:
        value = re.sub(r"<api-key:([^>]+)>", lambda m: self.world.api_keys[m.group(1)], value)
        value = re.sub(r"<token:([^@>]+)@seed>", lambda m: self.world.tokens[m.group(1)], value)
        return re.sub(
            r"<token:[^@>]+@n(\d+)>", lambda m: self.tokens.get(int(m.group(1)), "?"), value
        )
