"""--reload: a changed spec or world file takes over; one that does not load leaves the old."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from esdc_api.spec import SPEC_ROOT
from mockserver import create_app
from mockserver.reload import Reloader, watched_files
from mockserver.worlds import DEMO_WORLD
from tests.browser import Browser
from tests.conftest import LiveServer, frozen_settings, serve_in_thread
from tests.mockserver.test_serve import start, stop


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    """Copies of the spec and of the demo world, to change."""
    shutil.copytree(SPEC_ROOT.parent, tmp_path / "openapi")
    shutil.copy(DEMO_WORLD, tmp_path / "world.yaml")
    return tmp_path / "openapi" / "openapi.yaml", tmp_path / "world.yaml"


@pytest.fixture
def said() -> list[str]:
    return []


@pytest.fixture
def reloader(files: tuple[Path, Path], said: list[str]) -> Reloader:
    spec, world = files
    settings = frozen_settings(spec_path=spec, world=world)
    return Reloader(lambda: create_app(settings), watched_files(spec, world), say=said.append)


@pytest.fixture
def live(reloader: Reloader) -> Iterator[LiveServer]:
    yield from serve_in_thread(reloader)  # type: ignore[arg-type]


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def version(client: httpx.Client) -> str:
    return client.get("/api/task/", headers={"ES-API-KEY": "demo-alice-key"}).headers["es_version"]


def test_a_changed_spec_takes_over(live: LiveServer, files: tuple[Path, Path]) -> None:
    spec, _ = files
    with live.client() as client:
        before = version(client)
        edit(spec, 'version: "4.6"', 'version: "4.7"')
        reloaded = client.post("/control/reload/", json={}).json()
        after = version(client)
    assert (before, after) == ("4.6", "4.7")
    assert (reloaded["generation"], reloaded["error"]) == (2, None)
    assert reloaded["changed"] == [str(spec.resolve())]


def test_a_spec_that_does_not_load_leaves_the_old_server_and_says_why(
    live: LiveServer, files: tuple[Path, Path], said: list[str]
) -> None:
    spec, _ = files
    paths = spec.parent / "paths" / "task-status.yaml"
    with live.client() as client:
        edit(spec, 'version: "4.6"', 'version: "4.7"')
        paths.write_text(paths.read_text() + "\n  : [unclosed\n")
        failed = client.post("/control/reload/", json={}).json()
        still = version(client)
        paths.write_text(paths.read_text().replace("\n  : [unclosed\n", ""))
        fixed = client.post("/control/reload/", json={}).json()
        now = version(client)
    assert (failed["generation"], still) == (1, "4.6")
    assert "task-status.yaml" in failed["error"]
    assert "could not be built" in said[0] and "still serving generation 1" in said[0]
    assert (fixed["generation"], fixed["error"], now) == (2, None, "4.7")


def test_the_control_page_says_a_reload_failed_until_one_works(
    live: LiveServer, files: tuple[Path, Path], tmp_path: Path
) -> None:
    spec, _ = files
    paths = spec.parent / "paths" / "task-status.yaml"
    banner = "document.querySelector('#banner')"
    browser = Browser(tmp_path / "profile")
    try:
        browser.open(f"{live.url}/control/")
        browser.wait_for("document.body.dataset.ready === 'true'", "itself, ready")
        with live.client() as client:
            paths.write_text(paths.read_text() + "\n  : [unclosed\n")
            client.post("/control/reload/", json={})
            shown = browser.wait_for(
                f"!{banner}.hidden && {banner}.textContent", "the failed reload"
            )
            paths.write_text(paths.read_text().replace("\n  : [unclosed\n", ""))
            client.post("/control/reload/", json={})
            browser.wait_for(f"{banner}.hidden", "the banner gone once a reload worked")
    finally:
        browser.close()
    assert "reload failed, still serving generation 1" in shown and "task-status.yaml" in shown


def test_a_changed_world_file_makes_a_new_world(live: LiveServer, files: tuple[Path, Path]) -> None:
    _, world = files
    with live.client() as client:
        edit(world, "api_key: demo-alice-key", "api_key: alices-new-key")
        client.post("/control/reload/", json={})
        old = client.get("/api/task/", headers={"ES-API-KEY": "demo-alice-key"})
        new = client.get("/api/task/", headers={"ES-API-KEY": "alices-new-key"})
    assert (old.status_code, new.status_code) == (403, 200)


def test_the_watcher_notices_a_change_by_itself(
    live: LiveServer, reloader: Reloader, files: tuple[Path, Path]
) -> None:
    spec, _ = files
    reloader.start(interval=0.05)
    try:
        with live.client() as client:
            edit(spec, 'version: "4.6"', 'version: "4.7"')
            deadline = time.monotonic() + 60
            while client.get("/control/reload/").json()["generation"] == 1:
                assert time.monotonic() < deadline, "the watcher never reloaded"
                time.sleep(0.05)
            assert version(client) == "4.7"
    finally:
        reloader.stop()


def test_without_reload_the_control_api_says_so() -> None:
    for live in serve_in_thread(create_app(frozen_settings())):
        with live.client() as client:
            shown = client.get("/control/reload/").json()
            refused = client.post("/control/reload/", json={})
    assert shown == {"enabled": False}
    assert refused.status_code == 409 and "--reload" in refused.json()["detail"]


def test_serve_reload_says_what_it_watches() -> None:
    process, url, banner = start("--reload")
    try:
        state = httpx.get(f"{url}/control/reload/", timeout=30).json()
    finally:
        stop(process)
    assert any("reload       on:" in line for line in banner)
    assert state["enabled"] is True and state["watching"] > 10


def test_serve_reload_refuses_a_database_file(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "esdc_api", "serve", "--port", "0", "--reload", "--db",
         str(tmp_path / "x.sqlite3")],
        capture_output=True,
        text=True,
        timeout=120,
    )  # fmt: skip
    assert done.returncode != 0 and "--reload" in done.stderr and "--db" in done.stderr
