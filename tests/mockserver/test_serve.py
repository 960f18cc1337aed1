"""`esdc-api serve`, the README's main command, as a user runs it."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest


def start(*args: str) -> tuple[subprocess.Popen[str], str, list[str]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "esdc_api", "serve", "--port", "0", "--log-level", "warning", *args],
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    banner: list[str] = []
    for line in process.stderr:
        banner.append(line)
        if "ready in" in line:
            break
    else:
        pytest.fail("the server stopped before it was ready:\n" + "".join(banner))
    match = re.search(r"API +(http://[\d.]+:\d+)/api/", "".join(banner))
    assert match, "".join(banner)
    return process, match.group(1), banner


def stop(process: subprocess.Popen[str]) -> None:
    process.terminate()
    process.wait(timeout=10)
    if process.stderr is not None:
        process.stderr.close()


@pytest.fixture
def served() -> Iterator[tuple[str, list[str]]]:
    process, url, banner = start()
    try:
        yield url, banner
    finally:
        stop(process)


def test_serve_starts_with_the_demo_world_and_says_how_to_log_in(
    served: tuple[str, list[str]],
) -> None:
    url, banner = served
    text = "".join(banner)
    for name in ("admin", "dcadmin", "alice", "bob", "labadmin"):
        assert re.search(rf"{name} +{name} +demo-{name}-key", text), text
    tasks = httpx.get(f"{url}/api/task/", headers={"ES-API-KEY": "demo-admin-key"}, timeout=30)
    log = httpx.get(
        f"{url}/api/task/log/?page=1", headers={"ES-API-KEY": "demo-admin-key"}, timeout=30
    )
    assert tasks.status_code == 200 and len(tasks.json()) >= 5
    assert log.json()["count"] > 300


def test_a_database_file_keeps_the_state_across_restarts(tmp_path: Path) -> None:
    db = tmp_path / "world.sqlite3"
    task = "3e3d1-4b1d9e06-2c7a-4f83-8e15"
    alice = {"ES-API-KEY": "demo-alice-key"}
    process, url, _ = start("--db", str(db))
    try:
        assert (
            httpx.put(f"{url}/api/task/{task}/cancel/", headers=alice, timeout=30).status_code
            == 410
        )
    finally:
        stop(process)
    process, url, _ = start("--db", str(db))
    try:
        status = httpx.get(f"{url}/api/task/{task}/status/", headers=alice, timeout=30)
    finally:
        stop(process)
    assert (status.status_code, status.json()["status"]) == (410, "REVOKED")


def test_a_taken_port_is_a_clear_error_not_a_traceback(served: tuple[str, list[str]]) -> None:
    port = served[0].rsplit(":", 1)[1]
    result = subprocess.run(
        [sys.executable, "-m", "esdc_api", "serve", "--port", port],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode != 0
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr
