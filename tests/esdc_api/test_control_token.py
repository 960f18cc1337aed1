"""``esdc-api replay`` and ``esdc-api check`` drive a reference server started with a control
token (``esdc-api serve --control-token``): they send it as ``ESDC-Control`` when given it, and
say what is missing when not, over a real socket."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from esdc_api.cli import cli
from esdc_api.replay.target import Target, TargetError
from mockserver import create_app
from tests.conftest import LiveServer, frozen_settings, serve_in_thread
from tests.esdc_api.replay.conftest import RECORDING

TOKEN = "s3cret-token"
WORLD = str(RECORDING / "world.json")


@pytest.fixture
def guarded() -> Iterator[LiveServer]:
    yield from serve_in_thread(create_app(frozen_settings(control_token=TOKEN)))


def available(url: str, token: str | None) -> bool:
    async def ask() -> bool:
        target = Target.url(url, control_token=token)
        try:
            return await target.control.available()
        finally:
            await target.client.aclose()

    return asyncio.run(ask())


def test_the_replay_reaches_the_control_api_with_the_token(guarded: LiveServer) -> None:
    assert available(guarded.url, TOKEN)


@pytest.mark.parametrize(("token", "said"), [(None, "wants its token:"), ("wrong", "refused")])
def test_the_replay_says_the_control_api_wants_its_token(
    guarded: LiveServer, token: str | None, said: str
) -> None:
    with pytest.raises(TargetError, match=said) as caught:
        available(guarded.url, token)
    assert "--control-token" in str(caught.value)


def test_a_replay_against_a_guarded_server_runs_with_the_token(
    guarded: LiveServer, tmp_path: Path
) -> None:
    lines = (RECORDING / "transcript.jsonl").read_text().splitlines()[:12]
    transcript = tmp_path / "first.jsonl"
    transcript.write_text("\n".join(lines) + "\n")
    command = ["replay", str(transcript), "--world", WORLD, guarded.url, "--rewrite-host"]
    refused = CliRunner().invoke(cli, command, env={"ESDC_SERVE_CONTROL_TOKEN": ""})
    assert refused.exit_code == 3, refused.output
    assert "wants its token" in refused.output
    ran = CliRunner().invoke(cli, command, env={"ESDC_SERVE_CONTROL_TOKEN": TOKEN})
    assert ran.exit_code == 0, ran.output
    assert "differing   0" in ran.output


def test_check_as_reference_sends_the_token_and_says_when_it_lacks_it(
    guarded: LiveServer, tmp_path: Path
) -> None:
    command = [
        sys.executable, "-m", "esdc_api", "check", guarded.url + "/api", "--reference",
        "--api-key", "demo-alice-key", "--peer-api-key", "demo-bob-key",
        "--profile", "quick", "--", "-k", "peer_cannot_cancel",
    ]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith("ESDC_")}

    def run(**extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            command, cwd=tmp_path, env={**env, **extra}, capture_output=True, text=True,
            timeout=600,
        )  # fmt: skip

    lacking = run()
    assert lacking.returncode != 0
    assert "it wants its token" in lacking.stdout + lacking.stderr
    given = run(ESDC_SERVE_CONTROL_TOKEN=TOKEN)
    assert given.returncode == 0, given.stdout[-4000:] + given.stderr[-2000:]
    assert "result      1 passed, 0 failed, 0 skipped" in given.stdout
    assert "write-authorization" in given.stdout  # the check that needs the control API ran
