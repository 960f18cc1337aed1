"""Fixtures for testing ``es``: the fake API on a loopback socket (HTTP or HTTPS), and ``es``."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette

from esdc_api.es import run
from tests.esdc_api.es.fake_api import create_app


@dataclasses.dataclass
class LiveServer:
    url: str  # the API's base URL, e.g. http://127.0.0.1:40123/api


@dataclasses.dataclass
class Outcome:
    """One run of es: its exit code and what it printed."""

    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


Es = Callable[..., Outcome]


@pytest.fixture(scope="session")
def app() -> Starlette:
    return create_app()


@contextlib.contextmanager
def serve(app: Starlette, **options: Any) -> Iterator[tuple[str, int]]:
    """``app`` served by uvicorn in a thread, on a socket bound to a free loopback port.

    :param options: more ``uvicorn.Config`` options, e.g. the certificate for HTTPS.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(
        app, log_level="warning", lifespan="off", ws="none", loop="asyncio", **options
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the fake API did not start within 10 s")
        time.sleep(0.01)
    try:
        yield sock.getsockname()
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.fixture(scope="session")
def live_server(app: Starlette) -> Iterator[LiveServer]:
    """The fake API over plain HTTP on a free loopback port."""
    with serve(app) as (host, port):
        yield LiveServer(url=f"http://{host}:{port}/api")


@pytest.fixture(scope="session")
def self_signed_certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 that no CA signed, as appliances have, and its key."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("making a self-signed certificate needs the openssl command")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]
        + ["-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2"]
        + ["-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True,
        capture_output=True,
        timeout=30,
    )
    return cert, key


@pytest.fixture(scope="session")
def tls_server(app: Starlette, self_signed_certificate: tuple[Path, Path]) -> Iterator[LiveServer]:
    """The fake API over HTTPS with a self-signed certificate, on a free loopback port."""
    cert, key = self_signed_certificate
    with serve(app, ssl_certfile=str(cert), ssl_keyfile=str(key)) as (host, port):
        yield LiveServer(url=f"https://{host}:{port}/api")


@pytest.fixture
def token_store(tmp_path: Path) -> Path:
    return tmp_path / "state" / "es-token"


@pytest.fixture
def es(live_server: LiveServer, token_store: Path) -> Es:
    """Run es in-process against the live fake API: ``es("get", "/task")``."""

    def call(
        *words: str, env: Mapping[str, str] | None = None, client: httpx.Client | None = None
    ) -> Outcome:
        environ = {"ES_API_URL": live_server.url, "ES_TOKEN_STORE": str(token_store), **(env or {})}
        out, err = io.StringIO(), io.StringIO()
        code = run(["es", *words], client=client, env=environ, stdout=out, stderr=err)
        return Outcome(code, out.getvalue(), err.getvalue())

    return call
