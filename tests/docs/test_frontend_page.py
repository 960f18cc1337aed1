"""The curl commands of docs/frontend.rst, run as they are written against a reference server
behind the control API's protection (:mod:`tests.control_guard`)."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from collections.abc import Iterator
from typing import cast

import pytest

from mockserver import ReferenceServer, create_app
from tests.conftest import REPO_ROOT, LiveServer, frozen_settings, serve_in_thread
from tests.control_guard import Guard

DOCUMENTED = "http://127.0.0.1:8000"


def curl_commands(text: str) -> list[str]:
    """The curl commands of the page's ``sh`` blocks, each on one line."""
    commands = []
    for block in re.findall(r"\.\. code-block:: sh\n\n((?:   .*\n|\n)+)", text):
        joined = re.sub(r"\\\n\s*", " ", block)
        commands += [
            line.strip() for line in joined.splitlines() if line.strip().startswith("curl")
        ]
    return commands


@pytest.fixture(scope="module")
def guarded() -> Iterator[tuple[LiveServer, Guard]]:
    guard = Guard(create_app(frozen_settings()))
    for live in serve_in_thread(cast(ReferenceServer, guard)):  # an ASGI app, as the server
        yield live, guard


def test_the_pages_curl_commands_answer_as_it_says_on_a_guarded_server(
    guarded: tuple[LiveServer, Guard],
) -> None:
    server, guard = guarded
    commands = curl_commands((REPO_ROOT / "docs" / "frontend.rst").read_text())
    assert any("/control/" in command for command in commands)
    answered = []
    for command in commands:
        argv = shlex.split(command.replace(DOCUMENTED, server.url))
        done = subprocess.run(
            [*argv, "-s", "-o", os.devnull, "-w", "%{http_code}"],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert done.returncode == 0, (command, done.stderr)
        forced = re.search(r"Prefer: code=(\d+)", command)
        answered.append((command, int(done.stdout), int(forced[1]) if forced else 200))
    assert [(c, got) for c, got, _ in answered] == [(c, wanted) for c, _, wanted in answered]
    assert guard.refused == []
    with server.client() as client:
        clock = client.get("/control/clock/").json()
    assert clock["frozen"] is True and clock["now"].startswith("2026-11-02T12:01:00")
