"""``esdc-api replay``: the table, the exit status, the JSON details, clear refusals."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from esdc_api.cli import EXIT_DIFFERS, EXIT_TARGET_FAILED, cli
from esdc_api.replay import load_transcript, load_world
from tests.conftest import LiveServer, serve_in_thread
from tests.esdc_api.replay.conftest import RECORDING
from tests.esdc_api.replay.fake import FakeServer

WORLD = str(RECORDING / "world.json")
#: The recording's first twelve exchanges: A01, a third of a second of recorded time.
FIRST = 12


@pytest.fixture
def transcript(tmp_path: Path) -> Path:
    lines = (RECORDING / "transcript.jsonl").read_text().splitlines()[:FIRST]
    path = tmp_path / "first.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def fake_server(transcript: Path, **kwargs: object) -> Iterator[LiveServer]:
    fake = FakeServer(load_transcript(transcript), load_world(Path(WORLD)), **kwargs)  # type: ignore[arg-type]
    yield from serve_in_thread(fake)  # type: ignore[arg-type]


@pytest.fixture
def faithful(transcript: Path) -> Iterator[LiveServer]:
    yield from fake_server(transcript)


@pytest.fixture
def unfaithful(transcript: Path) -> Iterator[LiveServer]:
    from esdc_api.replay.answer import Answer

    def wrong(answer: Answer) -> Answer:
        return Answer(404, answer.headers, answer.body)

    yield from fake_server(transcript, answers={5: wrong})


@pytest.fixture
def uncontrolled(transcript: Path) -> Iterator[LiveServer]:
    yield from fake_server(transcript, control=False)


def test_a_server_answering_as_recorded_gets_a_table_of_identical_and_exit_0(
    runner: CliRunner, transcript: Path, faithful: LiveServer
) -> None:
    result = runner.invoke(
        cli, ["replay", str(transcript), "--world", WORLD, faithful.url + "/api"]
    )
    assert result.exit_code == 0, result.output
    assert f"Replay of {transcript} against {faithful.url}\n" in result.output
    assert f"  exchanges  {FIRST}\n  identical  {FIRST}  (100.0%" in result.output
    assert "differing   0" in result.output


def test_a_differing_exchange_is_listed_and_exits_1_and_the_json_holds_the_details(
    runner: CliRunner, transcript: Path, unfaithful: LiveServer, tmp_path: Path
) -> None:
    details = tmp_path / "details.json"
    result = runner.invoke(
        cli, ["replay", str(transcript), "--world", WORLD, unfaithful.url, "--json", str(details)]
    )
    assert result.exit_code == EXIT_DIFFERS, result.output
    assert "  n=5 Authorization: Token with a bogus token\n      status: real 403, ours 404" in (
        result.output
    )
    written = json.loads(details.read_text())
    assert written["counts"]["differing"] == 1
    (entry,) = [e for e in written["exchanges"] if e["verdict"] == "differing"]
    assert entry["n"] == 5 and entry["ours"]["status"] == 404


def test_a_server_without_a_control_api_is_replayed_at_the_recorded_pace_and_says_so(
    runner: CliRunner, transcript: Path, uncontrolled: LiveServer
) -> None:
    result = runner.invoke(cli, ["replay", str(transcript), "--world", WORLD, uncontrolled.url])
    assert result.exit_code == 0, result.output
    assert "has no control API: the world was not loaded" in result.output


def test_a_server_that_cannot_be_reached_is_a_clear_error_with_its_own_exit_status(
    runner: CliRunner, transcript: Path
) -> None:
    result = runner.invoke(cli, ["replay", str(transcript), "--world", WORLD, "http://127.0.0.1:9"])
    assert result.exit_code == EXIT_TARGET_FAILED
    assert result.output.startswith("Error: cannot reach http://127.0.0.1:9")
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["nothing.jsonl", "--world", WORLD], "Invalid value for TRANSCRIPT: transcript "
         "nothing.jsonl: no such file"),
        ([WORLD, "--world", WORLD], "world.json:1: not a JSON object"),
        (["{transcript}", "--world", "nothing.json"], "Invalid value for '--world': world "
         "nothing.json: no such file"),
        (["{transcript}", "--world", "{transcript}"], "Invalid value for '--world': world "),
        (["{transcript}", "--world", WORLD, "ftp://x"], "Invalid value for URL: 'ftp://x' is "
         "not an http:// or https:// URL"),
        (["{transcript}"], "Missing option '--world'"),
    ],
)  # fmt: skip
def test_a_wrong_argument_is_a_usage_error_naming_it(
    runner: CliRunner, transcript: Path, arguments: list[str], message: str
) -> None:
    filled = [a.replace("{transcript}", str(transcript)) for a in arguments]
    result = runner.invoke(cli, ["replay", *filled])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output


def test_help_says_where_the_recording_is_and_what_is_normalized(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["replay", "--help"])
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    assert "../shared/reference/real-4.6/transcript.jsonl" in text
    assert "--world ../shared/reference/real-4.6/world.json" in text
    assert "Normalized first, and nothing else: times after the world's seed" in text
    assert "Exit status: 0 nothing differs, 1 an exchange differs, 2 a usage error" in text


def test_a_server_started_with_the_world_is_not_sent_it_again(
    runner: CliRunner, transcript: Path, faithful: LiveServer
) -> None:
    result = runner.invoke(
        cli, ["replay", str(transcript), "--world", WORLD, faithful.url, "--loaded"]
    )
    assert result.exit_code == 0, result.output
    calls = [(method, path.split("?")[0]) for method, path, _ in faithful.app.calls]  # type: ignore[attr-defined]
    assert ("PUT", "/control/world/") not in calls
    assert ("POST", "/control/clock/set/") in calls
