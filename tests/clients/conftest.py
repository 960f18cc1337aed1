"""The spec as the reference server serves it, for the client generators to read."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mockserver import create_app
from tests.conftest import frozen_settings, serve_in_thread


@pytest.fixture(scope="package")
def served_spec(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """The URL of ``/api/openapi.json`` on a running reference server, and a copy of it."""
    for server in serve_in_thread(create_app(frozen_settings())):
        url = f"{server.url}/api/openapi.json"
        with server.client() as client:
            answer = client.get("/api/openapi.json")
        answer.raise_for_status()
        copy = tmp_path_factory.mktemp("spec") / "openapi.json"
        copy.write_bytes(answer.content)
        yield url, copy
