"""Fixtures shared by the project's tests: the reference server in-process and over a socket."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import uvicorn

from mockserver import ReferenceServer, Settings, create_app
from mockserver.onewrite import OneWriteHttpToolsProtocol

#: The checkout the tests run in.
REPO_ROOT = Path(__file__).resolve().parents[1]
#: The recording of Danube Cloud 4.6's own answers (CI has it beside the checkout).
REAL_46 = REPO_ROOT.parent / "shared" / "reference" / "real-4.6"
#: The documentation clock: the spec's examples describe the demo world at this moment.
DOC_TIME = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
KEYS = {name: f"demo-{name}-key" for name in ("admin", "dcadmin", "alice", "bob", "labadmin")}


def auth(user: str) -> dict[str, str]:
    return {"ES-API-KEY": KEYS[user]}


@dataclass
class LiveServer:
    """A uvicorn server in a thread, on a socket bound to 127.0.0.1 port 0."""

    app: ReferenceServer
    url: str

    def client(self, user: str | None = None, **kwargs: object) -> httpx.Client:
        headers = auth(user) if user else {}
        return httpx.Client(base_url=self.url, headers=headers, follow_redirects=False, **kwargs)  # type: ignore[arg-type]


def raw_exchange(url: str, request: bytes, *, timeout: float = 30) -> bytes:
    """Send ``request`` as it is (no client tidies its URL or headers) to the server at
    ``url`` and read until the server closes the connection."""
    host, port = url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        sock.sendall(request)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    return received


def chunked_request(method: str, path: str, body: bytes, *, pieces: int = 3) -> bytes:
    """A request whose JSON body is sent in ``pieces`` chunks (``Transfer-Encoding: chunked``,
    no ``Content-Length``), and that closes the connection after the answer."""
    size = -(-len(body) // pieces) or 1
    chunks = b"".join(
        b"%x\r\n%s\r\n" % (len(part), part)
        for part in (body[i : i + size] for i in range(0, len(body), size))
    )
    return (
        (
            f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        ).encode()
        + chunks
        + b"0\r\n\r\n"
    )


def serve_in_thread(app: ReferenceServer) -> Iterator[LiveServer]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    # The protocol `esdc-api serve` runs, so that the tests see the answers it sends.
    config = uvicorn.Config(
        app,
        http=OneWriteHttpToolsProtocol,
        log_level="warning",
        lifespan="off",
        date_header=False,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the test server did not start in 10 s")
        time.sleep(0.01)
    try:
        yield LiveServer(app, f"http://127.0.0.1:{sock.getsockname()[1]}")
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def frozen_settings(**overrides: object) -> Settings:
    values: dict[str, object] = {"start": DOC_TIME, "scale": 0, "throttle": False}
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def app() -> ReferenceServer:
    """A fresh reference server with the demo world at the documentation clock, frozen."""
    return create_app(frozen_settings())


@pytest.fixture
def live_server(app: ReferenceServer) -> Iterator[LiveServer]:
    yield from serve_in_thread(app)


#: Fixtures that take long to make (a docs build, a generated client, a whole suite's run, the
#: replay): with pytest-xdist (``-n 2 --dist loadgroup``, as scripts/test runs), the tests that
#: use one run on one worker, so that it is made once and not once per worker.
EXPENSIVE_FIXTURES = ("built", "generated", "types", "run_suite_once", "report")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not config.pluginmanager.hasplugin("xdist"):
        return
    for item in items:
        used = [name for name in EXPENSIVE_FIXTURES if name in getattr(item, "fixturenames", ())]
        if used:
            item.add_marker(pytest.mark.xdist_group(used[0]))
