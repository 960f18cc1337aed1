"""The reference server with every request it is sent written down, to prove what the suite
sends to a deployment (``--esdc-read-only``)."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tests.contract_tests.proxy import KEYS, reference


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    query: str
    status: int
    authenticated: bool  # with a key of one of the demo users


SEEN: list[Seen] = []


def recorded() -> ASGIApp:
    server = reference()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await server(scope, receive, send)
            return
        headers = {k.lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        authenticated = headers.get(b"es-api-key") in KEYS.values()
        status = 0

        async def watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        await server(scope, receive, watch)
        SEEN.append(
            Seen(
                scope["method"],
                scope["path"],
                scope.get("query_string", b"").decode(),
                status,
                authenticated,
            )
        )

    return app
