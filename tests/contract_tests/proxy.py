"""A proxy in front of a fresh reference server, for the broken variants to break one rule each.

:class:`Rewrite` passes the requests of ``/api/`` to the server and lets a variant change the
request on its way in (its path, query or headers), answer it itself, or change the answer on
its way out. The control API under ``/control/`` is left alone, so the suite can still make
tasks; :func:`ask` lets a variant look something up there (a task's end, the clock).
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mockserver import ReferenceServer, Settings, create_app

API = "/api/"
KEYS = {"user": "demo-alice-key", "peer": "demo-bob-key", "admin": "demo-admin-key"}


def reference() -> ReferenceServer:
    return create_app(Settings(throttle=False))


def throttled_reference() -> ReferenceServer:
    """The reference server throttling anonymous calls as real deployments do (30 a minute), and
    users so generously that an unpaced in-process run never meets it."""
    return create_app(Settings(throttle=True, user_rate="100000/min", anon_rate="30/min"))


@dataclass
class Answer:
    """An answer of the API on its way out, for a rewrite to change."""

    method: str
    path: str
    query: dict[str, str]
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    request_headers: dict[str, str]
    raw_query: str = ""
    request_body: bytes = b""

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def set_json(self, value: Any) -> None:
        self.body = json.dumps(value).encode()
        self.headers = [(k, v) for k, v in self.headers if k.lower() != b"content-type"]
        self.headers.append((b"content-type", b"application/json"))

    def header(self, name: str) -> str | None:
        return next((v.decode() for k, v in self.headers if k.lower() == name.encode()), None)

    @property
    def key(self) -> str | None:
        return self.request_headers.get("es-api-key")


Change = Callable[[Answer], Awaitable[None] | None]


def header(scope: Scope, name: str) -> str | None:
    return next(
        (v.decode("latin-1") for k, v in scope.get("headers", []) if k.lower() == name.encode()),
        None,
    )


def with_header(scope: Scope, name: str, value: str | None) -> Scope:
    """The scope with header ``name`` set to ``value`` (``None`` removes it)."""
    kept = [(k, v) for k, v in scope.get("headers", []) if k.lower() != name.lower().encode()]
    if value is not None:
        kept.append((name.lower().encode(), value.encode("latin-1")))
    return {**scope, "headers": kept}


def with_query(scope: Scope, change: Callable[[dict[str, str]], dict[str, str]]) -> Scope:
    """The scope with its query changed by ``change`` (given and giving the last value of each
    parameter); the order and the repeats of the parameters it keeps are kept."""
    pairs = parse_qsl(scope.get("query_string", b"").decode(), keep_blank_values=True)
    changed = change(dict(pairs))
    kept = [(k, changed[k]) for k, _v in pairs if k in changed]
    kept += [(k, v) for k, v in changed.items() if k not in dict(pairs)]
    return {**scope, "query_string": urlencode(kept).encode()}


class Rewrite:
    """Passes the requests of ``/api/`` to the server, then lets ``change`` rewrite the answer.

    :param request: may rewrite a request's scope first (its path, query string or headers).
    :param answer: may answer a request itself (return an :class:`Answer`), or ``None`` to pass
        it on.
    """

    def __init__(
        self,
        app: ASGIApp,
        change: Change = lambda answer: None,
        request: Callable[[Scope], Scope] = lambda scope: scope,
        answer: Callable[[Scope], Answer | None] = lambda scope: None,
    ) -> None:
        self.app, self.change, self.request, self.answer = app, change, request, answer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(API):
            await self.app(scope, receive, send)
            return
        scope = self.request(scope)
        ready = self.answer(scope)
        if ready is not None:
            await _send(ready, send)
            return
        start: Message = {}
        chunks: list[bytes] = []
        sent: list[bytes] = []
        raw_query = scope.get("query_string", b"").decode()
        query = dict(parse_qsl(raw_query, keep_blank_values=True))
        headers = {k.decode().lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}

        async def read() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                sent.append(message.get("body", b""))
            return message

        async def buffer(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, read, buffer)
        answer = Answer(
            scope["method"],
            scope["path"],
            query,
            start["status"],
            list(start.get("headers", [])),
            b"".join(chunks),
            headers,
            raw_query,
            b"".join(sent),
        )
        changed = self.change(answer)
        if inspect.isawaitable(changed):
            await changed
        await _send(answer, send)


async def _send(answer: Answer, send: Send) -> None:
    headers = [(k, v) for k, v in answer.headers if k.lower() != b"content-length"]
    headers.append((b"content-length", str(len(answer.body)).encode()))
    await send({"type": "http.response.start", "status": answer.status, "headers": headers})
    await send({"type": "http.response.body", "body": answer.body})


def made(status: int, body: Any, *, request: Scope) -> Answer:
    """An answer a variant gives itself, with JSON ``body``."""
    answer = Answer(request["method"], request["path"], {}, status, [], b"", {})
    answer.set_json(body)
    return answer


async def ask(app: ASGIApp, method: str, path: str, *, key: str | None = None) -> Any:
    """Ask the server behind the proxy (its control API, or the API as ``key``); the JSON
    answer, or ``None``."""
    raw_path, _, query = path.partition("?")
    headers = [(b"accept", b"application/json")]
    if key is not None:
        headers.append((b"es-api-key", key.encode()))
    scope: Scope = {
        "type": "http",
        "http_version": "1.1",
        "method": method,
        "path": raw_path,
        "raw_path": raw_path.encode(),
        "root_path": "",
        "scheme": "http",
        "query_string": query.encode(),
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    chunks: list[bytes] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    try:
        return json.loads(b"".join(chunks))
    except ValueError:
        return None


@dataclass(frozen=True)
class Variant:
    """A broken server and how the suite must catch it.

    :param check: the check (a test's name without ``test_``, or a schemathesis check) that
        must fail.
    :param message: what the summary must say, naming the rule and the evidence.
    :param args: more options for the run (to run only the checks it is about, say).
    """

    factory: Callable[[], ASGIApp]
    check: str
    message: str = ""
    args: tuple[str, ...] = field(default=())

    @property
    def name(self) -> str:
        return self.factory.__name__

    @property
    def app(self) -> str:
        return f"{self.factory.__module__}:{self.factory.__name__}"
