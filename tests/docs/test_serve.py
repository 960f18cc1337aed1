"""``esdc-api serve`` finds the site ``esdc-api docs`` built, without being told where it is."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

import esdc_api.docs.build
import mockserver.server
from esdc_api.cli import cli
from mockserver.settings import Settings


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[Settings]:
    """The settings ``esdc-api serve`` would have run the server with; nothing is started."""
    runs: list[Settings] = []
    monkeypatch.setattr(mockserver.server, "run", runs.append)
    return runs


def test_serve_serves_the_default_docs_output_when_it_exists(
    started: list[Settings], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(esdc_api.docs.build, "DEFAULT_OUTPUT", tmp_path)

    result = CliRunner().invoke(cli, ["serve"])

    assert result.exit_code == 0, result.output
    assert started[0].docs_dir == tmp_path


def test_serve_serves_no_docs_when_none_were_built(
    started: list[Settings], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(esdc_api.docs.build, "DEFAULT_OUTPUT", tmp_path / "missing")

    result = CliRunner().invoke(cli, ["serve"])

    assert result.exit_code == 0, result.output
    assert started[0].docs_dir is None


def test_a_docs_dir_given_to_serve_wins_over_the_default(
    started: list[Settings], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(esdc_api.docs.build, "DEFAULT_OUTPUT", tmp_path)
    (tmp_path / "other").mkdir()

    result = CliRunner().invoke(cli, ["serve", "--docs-dir", str(tmp_path / "other")])

    assert result.exit_code == 0, result.output
    assert started[0].docs_dir == tmp_path / "other"
