"""What the reference server answers outside the APIs: the built docs under ``/docs/``."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from mockserver import create_app
from tests.conftest import LiveServer, frozen_settings, raw_exchange, serve_in_thread


@pytest.fixture
def docs_server(tmp_path: Path) -> Iterator[LiveServer]:
    site = tmp_path / "html"
    (site / "api").mkdir(parents=True)
    (site / "index.html").write_text("<h1>docs</h1>")
    (site / "api" / "task.html").write_text("<h1>task</h1>")
    (site / "api" / "index.html").write_text("<h1>api</h1>")
    (tmp_path / "secret.txt").write_text("outside the site")
    (site / "leak.txt").symlink_to(tmp_path / "secret.txt")
    yield from serve_in_thread(create_app(frozen_settings(docs_dir=site)))


def test_docs_pages_are_served(docs_server: LiveServer) -> None:
    with docs_server.client() as client:
        assert client.get("/docs/").text == "<h1>docs</h1>"
        assert client.get("/docs/api/task.html").text == "<h1>task</h1>"


@pytest.mark.parametrize(
    "path",
    [
        "/docs/missing.html",
        "/docs/favicon.ico",
        "/docs/leak.txt",  # a symlink out of the site
        "/docs/../secret.txt",
        "/docs/%2e%2e/secret.txt",
        "/docs/..%2fsecret.txt",
        "/docs/%252e%252e/secret.txt",
        "/docs/..%5csecret.txt",
        "/docs//etc/passwd",
        "/docs/index.html%00",
    ],
)
def test_a_miss_under_docs_is_404_without_a_traceback(
    docs_server: LiveServer, path: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 12 M1: every miss under /docs/ was a 500 (StaticFiles' 404 reached connexion's
    error middleware as a coroutine), with a traceback in the log."""
    with caplog.at_level(logging.ERROR):
        answer = raw_exchange(
            docs_server.url,
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode(),
        )
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 404 "), answer
    assert b"outside the site" not in body
    assert b"content-type: text/html" in head.lower()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_a_write_under_docs_is_405_naming_the_methods(docs_server: LiveServer) -> None:
    with docs_server.client() as client:
        answer = client.post("/docs/", content=b"x")
    assert answer.status_code == 405
    assert answer.headers["allow"] == "GET, HEAD"


def test_a_folder_of_the_docs_without_its_slash_is_redirected_to_it(
    docs_server: LiveServer,
) -> None:
    answer = httpx.get(docs_server.url + "/docs/api", follow_redirects=False)
    assert answer.status_code == 307
    assert answer.headers["location"] == docs_server.url + "/docs/api/"
