"""How much of a request the server takes, and for how long it waits for it (issue 12 H1,
L1, L2).

Without limits one client could hold the server: 100 MB of headers were read whole, a 50 MB
body too, and a request that never finished arriving was waited for forever. Each limit is
a setting (``esdc-api serve --help``), and each refusal is the API's error shape,
``{"detail": "..."}``, that says which limit and how to raise it:

- the request's head (its line and headers) over ``header_bytes``, or one header line over
  ``header_line``: 431, read no further (:class:`LimitedHttpToolsProtocol`);
- a body over ``body_bytes``: 413, before a byte of it is read when ``Content-Length``
  says so, as soon as it is exceeded when it comes chunked (:class:`BodyLimit`, which also
  guards an app used in-process);
- a request not whole within ``request_seconds`` of its first byte, or a connection that
  sends nothing for as long: 408 (or, with nothing sent yet, closed).

The request line itself is httptools', which refuses one longer than about 64 kB with 400.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

import httptools
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import STATUS_LINE

from mockserver.onewrite import OneWriteHttpToolsProtocol


@dataclass(frozen=True)
class Limits:
    """:param header_bytes: the most a request's line and headers may take together.
    :param header_line: the most one header (name and value) may take.
    :param body_bytes: the most a request's body may take.
    :param request_seconds: how long a request may take to arrive, from its first byte (and
        a new connection to send one).
    :param connections: open connections and running requests beyond which a request gets
        uvicorn's 503 (``limit_concurrency``).
    """

    header_bytes: int = 64 * 1024
    header_line: int = 16 * 1024
    body_bytes: int = 1024 * 1024
    request_seconds: float = 30.0
    connections: int = 1000


def detail_body(detail: str) -> bytes:
    return json.dumps({"detail": detail}).encode()


def _raw_answer(status: HTTPStatus, detail: str) -> bytes:
    body = detail_body(detail)
    return (
        STATUS_LINE[int(status)]
        + b"content-type: application/json\r\ncontent-length: %d\r\nconnection: close\r\n\r\n"
        % len(body)
        + body
    )


#: Seconds a refused connection is still read (and what it sends dropped) before it closes.
_LINGER = 2.0
#: Bytes a refused connection may still send before it is closed all the same.
_LINGER_BYTES = 1024 * 1024


class _Refused(Exception):
    """Raised in a parser callback to stop parsing; httptools re-raises it wrapped."""


class LimitedHttpToolsProtocol(OneWriteHttpToolsProtocol):
    """uvicorn's httptools protocol, writing each answer at once
    (:class:`mockserver.onewrite.OneWriteHttpToolsProtocol`), with the head limits and the
    request timeout above,
    read from ``config.esdc_limits`` (set by :func:`limit`), which survives the pickling
    of ``--workers``."""

    def __init__(self, config: Config, *args: Any, **kwargs: Any) -> None:
        super().__init__(config, *args, **kwargs)
        self.limits: Limits = getattr(config, "esdc_limits", Limits())
        self._in_head = False
        self._head = 0  # bytes of the head seen by the callbacks
        self._pending = 0  # bytes received while the head was incomplete
        self._refusal: str | None = None
        self._dropped = 0
        self._deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refusal is not None:  # refused: lingering, dropping what comes
            self._dropped += len(data)
            if self._dropped > _LINGER_BYTES and not self.transport.is_closing():
                self.transport.close()
            return
        self._unset_keepalive_if_required()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
            return
        except httptools.HttpParserError:
            if self._refusal is None:
                self.logger.warning("Invalid HTTP request received.")
                self.send_400_response("Invalid HTTP request received.")
                return
        if self._refusal is None and self._in_head:
            self._pending += len(data)
            if self._pending > self.limits.header_bytes:
                self._refusal = self._too_many_headers()
        if self._refusal is not None:
            self._refuse(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, self._refusal)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head, self._head, self._pending = True, 0, 0
        if self._deadline is None:
            self._arm()

    def on_url(self, url: bytes) -> None:
        super().on_url(url)
        self._head += len(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        size = len(name) + len(value) + 4  # ": " and CRLF
        self._head += size
        if size > self.limits.header_line:
            self._refuse_head(
                f"The header {name.decode('latin-1')!r} takes {size} bytes, more than "
                f"{self.limits.header_line}; send a shorter one, or start the server with a "
                "larger --max-header-line."
            )
        if self._head > self.limits.header_bytes:
            self._refuse_head(self._too_many_headers())
        super().on_header(name, value)

    def _too_many_headers(self) -> str:
        return (
            f"The request's headers take more than {self.limits.header_bytes} bytes; send "
            "fewer or shorter ones, or start the server with a larger --max-header-size."
        )

    def on_headers_complete(self) -> None:
        self._in_head = False
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()

    def _refuse_head(self, detail: str) -> None:
        self._refusal = detail
        raise _Refused(detail)

    def _refuse(self, status: HTTPStatus, detail: str) -> None:
        self.logger.warning("Refused a request: %s", detail)
        self._disarm()
        if self.cycle is not None and not self.cycle.response_complete:
            self.cycle.disconnected = True  # the app's answer, if it comes, is dropped
        if self.transport.is_closing():
            return
        self.transport.write(_raw_answer(status, detail))
        if self.transport.can_write_eof():
            # A lingering close: what the client still sends is read and dropped for a
            # moment, so that closing with it unread (a TCP reset) does not destroy the
            # answer before the client reads it.
            self.transport.write_eof()
            self._deadline = self.loop.call_later(_LINGER, self.transport.close)
        else:
            self.transport.close()

    def _arm(self) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(self.limits.request_seconds, self._too_slow)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _too_slow(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        if self.pipeline:  # arrived whole, and waits for the answer before it: not slow
            self._arm()
            return
        if self.cycle is not None and self.cycle.response_started:
            self.transport.close()
            return
        if not self._in_head and (self.cycle is None or self.cycle.response_complete):
            self.transport.close()  # a new connection that sent nothing
            return
        self._refusal = "timeout"
        self._refuse(
            HTTPStatus.REQUEST_TIMEOUT,
            f"The request did not arrive whole within {self.limits.request_seconds:g} s; "
            "send it at once, or start the server with a larger --request-timeout.",
        )


def limit(config: Config, limits: Limits) -> Config:
    """``config`` serving with :class:`LimitedHttpToolsProtocol` and ``limits``."""
    config.http = LimitedHttpToolsProtocol
    config.esdc_limits = limits  # type: ignore[attr-defined]
    return config


class BodyLimit:
    """413 for a body over ``limit`` bytes, in the API's error shape. The app reads what
    the body holds up to the limit; when it goes over, the app is told the client left, its
    answer is dropped, and the 413 goes out instead. uvicorn drops the rest of the body as it
    comes, within the request timeout, and the connection serves the client's next request
    (closing it with the body unread would reset it, and the client could lose the 413)."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared, chunked = _framing(scope)
        if declared is not None and declared > self.limit:
            await self._too_large(send)
            return
        if not chunked:
            # Its length is declared within the limit (the parser holds the body to it) or
            # there is no body: nothing to count, and no wrappers to pay for on each message.
            await self.app(scope, receive, send)
            return
        received, over, started = 0, False, False

        async def counted() -> Message:
            nonlocal received, over
            if over:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    over = True
                    return {"type": "http.disconnect"}
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            if over and not started:
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        await self.app(scope, counted, watched)
        if over and not started:
            await self._too_large(send)

    async def _too_large(self, send: Send) -> None:
        body = detail_body(
            f"The request's body takes more than {self.limit} bytes; send a smaller one, or "
            "start the server with a larger --max-body-size."
        )
        await send(
            {
                "type": "http.response.start",
                "status": int(HTTPStatus.REQUEST_ENTITY_TOO_LARGE),
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _framing(scope: Scope) -> tuple[int | None, bool]:
    """The request's ``Content-Length`` (``None`` if it sends none or one that is not a
    number) and whether its body may run on past it: chunked, or of a length not declared
    as a number."""
    declared, chunked, length_sent = None, False, False
    for name, value in scope["headers"]:
        if name == b"content-length":
            length_sent = True
            try:
                declared = int(value)
            except ValueError:
                declared = None
        elif name == b"transfer-encoding":
            chunked = True
    return declared, chunked or (length_sent and declared is None)
