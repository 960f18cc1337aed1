"""`esdc-api serve`, the README's main command, as a user runs it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from mockserver.store import Store
from mockserver.worlds.install import install_demo
from tests.conftest import DOC_TIME


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


ADMIN = {"ES-API-KEY": "demo-admin-key"}


def test_two_servers_on_one_db_file_see_each_others_writes_at_once(tmp_path: Path) -> None:
    db = str(tmp_path / "world.sqlite3")
    first, first_url, _ = start("--db", db, "--no-throttle")
    try:
        second, second_url, _ = start("--db", db, "--no-throttle")
        try:
            # Each asks first, so that each keeps its answer (the cache is on).
            before = httpx.get(f"{second_url}/api/task/", headers=ADMIN, timeout=30).json()
            stats = httpx.get(f"{second_url}/api/task/log/stats/", headers=ADMIN, timeout=30)
            made = httpx.post(
                f"{first_url}/control/tasks/", json={"creator": "alice", "runs": None}, timeout=30
            ).json()
            after = httpx.get(f"{second_url}/api/task/", headers=ADMIN, timeout=30).json()
            assert made["task_id"] not in before and made["task_id"] in after
            stats_after = httpx.get(f"{second_url}/api/task/log/stats/", headers=ADMIN, timeout=30)
            assert stats_after.json()["pending"] == stats.json()["pending"] + 1
            # The clock is the deployment's too.
            moved = httpx.post(f"{second_url}/control/clock/freeze/", timeout=30).json()["now"]
            shown = httpx.get(f"{first_url}/control/clock/", timeout=30).json()
            assert (shown["now"], shown["scale"], shown["frozen"]) == (moved, 0.0, True)
            # A cancel through one is the other's answer too.
            cancel = httpx.put(
                f"{second_url}/api/task/{made['task_id']}/cancel/",
                headers={"ES-API-KEY": "demo-alice-key"},
                timeout=30,
            )
            assert cancel.status_code == 410
            status = httpx.get(
                f"{first_url}/api/task/{made['task_id']}/status/", headers=ADMIN, timeout=30
            )
            assert status.json()["status"] == "REVOKED"
        finally:
            stop(second)
    finally:
        stop(first)


def test_a_server_settles_the_tasks_another_server_on_its_db_file_created(
    tmp_path: Path,
) -> None:
    """Issue 12 M7: B did not settle tasks A created, so their end entries appeared only once
    A handled a request. Here A makes the task and then is never asked again."""
    db = str(tmp_path / "world.sqlite3")
    first, first_url, _ = start("--db", db, "--no-throttle", "--scale", "0")
    try:
        second, second_url, _ = start("--db", db, "--no-throttle", "--scale", "0")
        try:
            made = httpx.post(
                f"{first_url}/control/tasks/", json={"creator": "alice", "runs": 60}, timeout=30
            ).json()
            httpx.post(f"{second_url}/control/clock/advance/", json={"seconds": 120}, timeout=30)
            last = httpx.get(f"{second_url}/api/task/log/", headers=ADMIN, timeout=30).json()
            ends = [
                e
                for e in last["results"]
                if e["task"] == made["task_id"] and e["status"] != "PENDING"
            ]
            assert [e["status"] for e in ends] == ["SUCCESS"]
        finally:
            stop(second)
    finally:
        stop(first)


def test_workers_serve_one_world_from_a_temporary_file() -> None:
    process, url, banner = start("--workers", "2", "--no-throttle")
    try:
        assert any("workers      2 processes" in line for line in banner)
        assert any("temporary: deleted on exit" in line for line in banner)
        made = httpx.post(
            f"{url}/control/tasks/", json={"creator": "alice", "runs": None}, timeout=30
        ).json()
        # Whichever worker each connection reaches, every answer shows the new task.
        for _ in range(8):
            with httpx.Client(timeout=30) as client:
                assert made["task_id"] in client.get(f"{url}/api/task/", headers=ADMIN).json()
    finally:
        stop(process)


@pytest.mark.parametrize("moment", ["9999-12-31T23:59:00", "0001-01-01"])
def test_a_start_time_outside_the_clocks_range_is_a_usage_error(moment: str) -> None:
    """Issue 12 L4: ``--at 9999-12-31T23:59:00`` failed with a raw OverflowError."""
    result = subprocess.run(
        [sys.executable, "-m", "esdc_api", "serve", "--port", "0", "--at", moment],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "outside the clock's range" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_database_file_keeps_its_clock_across_restarts(tmp_path: Path) -> None:
    """Issue 12 M4: the clock went back to today on a restart, so a running task read PENDING
    again, its log entry came from the future and bob's token lived a day longer."""
    db = str(tmp_path / "world.sqlite3")
    bob = {"username": "bob", "password": "bob"}
    process, url, _ = start("--db", db, "--no-throttle")
    try:
        httpx.post(f"{url}/control/clock/advance/", json={"seconds": 86400}, timeout=30)
        made = httpx.post(
            f"{url}/control/tasks/", json={"creator": "alice", "runs": 600}, timeout=30
        ).json()
        token = httpx.post(f"{url}/api/accounts/login/", json=bob, timeout=30).json()
        before = httpx.get(f"{url}/control/clock/", timeout=30).json()
    finally:
        stop(process)
    process, url, banner = start("--db", db, "--no-throttle")
    try:
        after = httpx.get(f"{url}/control/clock/", timeout=30).json()
        alice = {"ES-API-KEY": "demo-alice-key"}
        status = httpx.get(f"{url}/api/task/{made['task_id']}/status/", headers=alice, timeout=30)
        listed = httpx.get(f"{url}/api/task/", headers=alice, timeout=30).json()
        last = httpx.get(f"{url}/api/task/log/", headers=ADMIN, timeout=30).json()["results"]
    finally:
        stop(process)
    assert made["state"] == "STARTED"
    assert before["now"] <= after["now"] < token["expires"]
    assert (status.status_code, status.json()["status"]) == (201, "STARTED")
    assert made["task_id"] in listed
    assert all(entry["time"] <= after["now"] for entry in last)


def test_a_frozen_clock_stays_at_its_moment_across_restarts_unless_at_moves_it(
    tmp_path: Path,
) -> None:
    db = str(tmp_path / "world.sqlite3")
    process, url, _ = start("--db", db, "--scale", "0")
    try:
        moved = httpx.post(
            f"{url}/control/clock/advance/", json={"seconds": 3600}, timeout=30
        ).json()
    finally:
        stop(process)
    process, url, _ = start("--db", db)
    try:
        kept = httpx.get(f"{url}/control/clock/", timeout=30).json()
    finally:
        stop(process)
    process, url, _ = start("--db", db, "--at", "2030-01-01T00:00:00Z")
    try:
        told = httpx.get(f"{url}/control/clock/", timeout=30).json()
    finally:
        stop(process)
    # (offset: how far from real time the clock is, which real time moves)
    kept, moved = ({k: v for k, v in c.items() if k != "offset"} for c in (kept, moved))
    assert kept == moved == {**kept, "scale": 0.0, "frozen": True}
    assert (told["now"], told["frozen"]) == ("2030-01-01T00:00:00+00:00", True)


def refused(*args: str, without_root_override: bool = False) -> subprocess.CompletedProcess[str]:
    """``esdc-api serve ARGS`` that must not start. ``without_root_override``: as root, run it
    without the capability that lets root write to read-only files, as a user would be."""
    command = [sys.executable, "-m", "esdc_api", "serve", "--port", "0", *args]
    if without_root_override and os.geteuid() == 0:
        drop = "-dac_override,-dac_read_search"
        command = ["setpriv", f"--inh-caps={drop}", f"--bounding-set={drop}", "--", *command]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def made_world(path: Path) -> Path:
    store = Store(path)
    install_demo(store, DOC_TIME)
    store.close()
    return path


def damaged_in_the_middle(path: Path) -> Path:
    """16 pages in the middle of the file overwritten, as a failing disk would leave it."""
    made_world(path)
    page = 4096
    pages = path.stat().st_size // page
    with path.open("r+b") as file:
        file.seek((pages // 2) * page)
        file.write(bytes(range(256)) * (16 * page // 256))
    return path


def truncated(path: Path) -> Path:
    made_world(path)
    with path.open("r+b") as file:
        file.truncate(path.stat().st_size // 2)
    return path


def not_a_database(path: Path) -> Path:
    path.write_bytes(b"this is not a database, only its name says so\n" * 100)
    return path


@pytest.mark.parametrize(
    ("make", "says"),
    [
        (lambda tmp: tmp / "missing" / "world.sqlite3", "does not exist"),
        (lambda tmp: tmp, "is a folder, not a database file"),
        (lambda tmp: not_a_database(tmp / "world.sqlite3"), "is not a SQLite database"),
        (lambda tmp: truncated(tmp / "world.sqlite3"), "is damaged"),
        (lambda tmp: damaged_in_the_middle(tmp / "world.sqlite3"), "is damaged"),
    ],
    ids=["missing folder", "a folder", "not a database", "truncated", "damaged in the middle"],
)
def test_a_database_file_the_server_cannot_use_is_a_one_line_error(
    tmp_path: Path, make: Any, says: str
) -> None:
    """Issue 12 L6: these were raw tracebacks, and a file damaged in the middle started
    without complaint and then answered 500 on the requests that read the damaged pages."""
    result = refused("--db", str(make(tmp_path)))
    assert result.returncode == 1, result.stderr
    assert says in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1, result.stderr


@pytest.mark.parametrize("read_only", ["the file", "its folder"])
def test_a_database_file_the_server_cannot_write_is_a_one_line_error(
    tmp_path: Path, read_only: str
) -> None:
    folder = tmp_path / "worlds"
    folder.mkdir()
    db = made_world(folder / "world.sqlite3")
    (db if read_only == "the file" else folder).chmod(0o555 if read_only != "the file" else 0o444)
    try:
        result = refused("--db", str(db), without_root_override=True)
    finally:
        folder.chmod(0o755)
        db.chmod(0o644)
    assert result.returncode == 1, result.stderr
    assert "cannot write to" in result.stderr and "writable" in result.stderr
    assert "Traceback" not in result.stderr
    assert Store(db).count_tasks() > 0  # nothing of it was lost


KILLED_BUILD = """
import os, signal, sys
import mockserver.app
from mockserver import Settings, create_app

class Killing:
    def __init__(self, say, what):
        pass
    def __call__(self, stage, done=0, total=0):
        if stage == "writing, sorting and indexing the log":
            os.kill(os.getpid(), signal.SIGKILL)  # kill -9, the accounts written, not the log
    def finish(self):
        pass

mockserver.app.Progress = Killing
create_app(Settings(db=sys.argv[1], history=50_000))
"""

KILLED_RESET = """
import os, signal, sys
import mockserver.control, mockserver.store
from starlette.testclient import TestClient
from mockserver import Settings, create_app

class Killing:
    def __init__(self, say, what):
        pass
    def __call__(self, stage, done=0, total=0):
        if stage == "copying it into the database file" and 0 < done < total:
            os.kill(os.getpid(), signal.SIGKILL)  # kill -9, half-way through the copy
    def finish(self):
        pass

mockserver.control.Progress = Killing
mockserver.store.COPY_PAGES = 16
with TestClient(create_app(Settings(db=sys.argv[1], throttle=False))) as client:
    made = client.post("/control/tasks/", json={"creator": "alice", "runs": None}).json()
    print(made["task_id"], client.get("/control/").json()["tasks"], flush=True)
    client.post("/control/reset/", json={"history": 20_000})
"""


def test_a_crash_while_the_world_is_first_built_leaves_no_world_and_the_next_start_builds_it(
    tmp_path: Path,
) -> None:
    """Issue 12 M5: kill -9 during the first build left datacenters and users but no tasks,
    and the next start served that empty world ("world 0 tasks, 0 log entries")."""
    db = tmp_path / "world.sqlite3"
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_BUILD, str(db)], capture_output=True, text=True, timeout=300
    )
    assert killed.returncode == -9, killed.stderr
    store = Store(db)
    assert (store.dcs(), store.count_tasks(), store.count_log()) == ([], 0, 0)
    store.close()
    process, url, banner = start("--db", str(db))
    try:
        tasks = httpx.get(f"{url}/api/task/", headers=ADMIN, timeout=30)
    finally:
        stop(process)
    assert re.search(r"world +[1-9]\d* tasks, [1-9]\d* log entries", "".join(banner))
    assert tasks.status_code == 200 and tasks.json()


def test_a_crash_while_a_reset_writes_its_world_leaves_the_old_world(tmp_path: Path) -> None:
    """Issue 12 M5: kill -9 during POST /control/reset/ lost the old world and left an empty
    one, which the next start served."""
    db = tmp_path / "world.sqlite3"
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_RESET, str(db)], capture_output=True, text=True, timeout=300
    )
    assert killed.returncode == -9, killed.stderr
    task_id, tasks = killed.stdout.split()
    store = Store(db)  # checks it (quick_check) first
    assert store.get_task(task_id) is not None
    assert store.count_tasks() == int(tasks)
    store.close()
    process, url, _ = start("--db", str(db))
    try:
        made = httpx.get(f"{url}/control/tasks/{task_id}/", timeout=30)
    finally:
        stop(process)
    assert made.status_code == 200 and made.json()["state"] == "STARTED"
