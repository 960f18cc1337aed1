"""``esdc-api check`` as documented: against ``esdc-api serve`` over HTTP, with the keys of
the demo users."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from click.testing import CliRunner

from esdc_api.cli import cli

ESDC_API = [sys.executable, "-m", "esdc_api"]


@contextmanager
def served(*options: str) -> Iterator[str]:
    """``esdc-api serve --port 0`` in a subprocess, unthrottled unless ``options`` say
    otherwise; yields its API's base URL."""
    options = options or ("--no-throttle",)
    server = subprocess.Popen(
        [*ESDC_API, "serve", "--port", "0", *options, "--log-level", "warning"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert server.stderr is not None
    url, lines, deadline = None, [], time.monotonic() + 60
    # keeps reading once the server is up, so that a chatty server never blocks on the pipe
    drain = threading.Thread(target=server.stderr.read, daemon=True)
    try:
        for line in server.stderr:
            lines.append(line)
            found = re.search(r"API\s+(http://127\.0\.0\.1:\d+/api)/", line)
            url = url or (found.group(1) if found else None)
            if "ready in" in line or time.monotonic() > deadline:
                break
        assert url is not None, "".join(lines)
        drain.start()
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)
        if drain.is_alive():
            drain.join(timeout=10)
        server.stderr.close()


def test_check_passes_against_a_reference_server_over_http(tmp_path: Path) -> None:
    with served() as url:
        result = subprocess.run(
            [
                *ESDC_API,
                "check",
                url,
                "--api-key",
                "demo-alice-key",
                "--peer-api-key",
                "demo-bob-key",
                "--admin-api-key",
                "demo-admin-key",
            ],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=600,
        )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert f"target      a deployment ({url})" in result.stdout
    # against a deployment nothing that could change a task is sent
    assert "PUT /task/{task_id}/cancel/ (schemathesis): not sent for safety" in result.stdout


def test_check_refuses_a_url_without_a_key() -> None:
    result = CliRunner().invoke(
        cli, ["check", "https://dc.example.com/api"], env={"ESDC_API_KEY": ""}
    )
    assert result.exit_code == 2
    assert "needs a user's key: --api-key KEY or ESDC_API_KEY" in result.output


ROOT = Path(__file__).resolve().parents[2]


def test_every_rerun_line_works_as_printed_from_where_the_check_ran(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "ESDC_APP": "tests.contract_tests.broken_upgrades:dc_prefix_gone",
        "ESDC_PROFILE": "quick",
        "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
    }
    first = subprocess.run(
        [*ESDC_API, "check", "--seed", "1", "--", "-k", "dc_prefix or unknown_dc"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert first.returncode == 1, first.stdout[-3000:]
    reruns = re.findall(r"^    rerun:  (.+)$", first.stdout, re.MULTILINE)
    assert reruns and all(line.startswith("ESDC_APP=") for line in reruns), reruns
    for line in reruns:
        again = subprocess.run(
            ["bash", "-c", line], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600
        )
        assert again.returncode == 1, line + "\n" + again.stdout[-3000:] + again.stderr[-2000:]
        test = line.rsplit("::", 1)[1].strip("'")
        assert "1 failed" in again.stdout and f"{test} - contract_tests.errors" in again.stdout


def test_write_checks_skipped_on_a_reference_server_say_how_to_run_them(tmp_path: Path) -> None:
    with served() as url:
        result = subprocess.run(
            [
                *ESDC_API,
                "check",
                url,
                "--api-key",
                "demo-alice-key",
                "--peer-api-key",
                "demo-bob-key",
                "--profile",
                "quick",
                "--",
                "-k",
                "peer_cannot_cancel or cancel_answers",
            ],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=600,
        )
    assert result.returncode == 0, result.stdout[-4000:]
    assert (
        "the target is a reference server (its /control/ API answers): run with "
        "--esdc-reference (esdc-api check --reference) to test the authorization of writes"
    ) in result.stdout
