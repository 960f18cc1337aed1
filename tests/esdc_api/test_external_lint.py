"""Spectral and Redocly on the bundled spec. CI installs both (`npm ci`) before pytest runs, so a
missing tool fails these tests instead of skipping them."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from esdc_api import external_lint
from esdc_api.cli import cli
from esdc_api.resources import data_dir

Plant = Callable[[str, str, str], None]


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("bundle") / "openapi.json"
    result = CliRunner().invoke(cli, ["bundle", "-o", str(path)])
    assert result.exit_code == 0, result.output
    return path


@pytest.mark.parametrize("tool", external_lint.TOOLS, ids=lambda tool: tool.name)
def test_the_bundled_spec_has_no_errors_or_warnings_for(
    tool: external_lint.Tool, bundle: Path
) -> None:
    assert tool.installed, f"{tool.name} is not installed: run `npm ci` first"

    findings = tool.run(bundle)

    assert [f"{f.severity} {f.rule} at {'/'.join(map(str, f.path))}" for f in findings] == []


def test_lint_external_reports_what_the_tools_find_at_the_source_file(
    runner: CliRunner, spec_copy: Path, plant: Plant
) -> None:
    plant(
        "examples/task.yaml",
        "StatusSuccess:\n  summary: Ended successfully\n  value:\n    status: SUCCESS",
        "StatusSuccess:\n  summary: Ended successfully\n  value:\n    status: DONE",
    )

    result = runner.invoke(cli, ["lint", "--external", str(spec_copy)])

    assert result.exit_code == 1, result.output
    where = "openapi/examples/task.yaml#/StatusSuccess/value/status"
    assert f"{where}: [spectral:oas3-valid-media-example]" in result.output
    assert f"{where}: warning: [redocly:no-invalid-media-type-examples]" in result.output


@pytest.fixture
def no_tools(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Neither tool in any node_modules/.bin nor on PATH; returns the (empty) PATH folder."""
    folder = tmp_path / "bin"
    folder.mkdir()
    monkeypatch.setattr(external_lint, "bin_dirs", lambda: [tmp_path / "node_modules" / ".bin"])
    monkeypatch.setenv("PATH", str(folder))
    return folder


def test_lint_external_without_the_tools_fails_saying_how_to_get_them(
    runner: CliRunner, no_tools: Path
) -> None:
    manifest = json.loads((data_dir() / "package.json").read_text())["devDependencies"]

    result = runner.invoke(cli, ["lint", "--external"])

    assert result.exit_code == 1, result.output
    spectral = f"@stoplight/spectral-cli@{manifest['@stoplight/spectral-cli']}"
    redocly = f"@redocly/cli@{manifest['@redocly/cli']}"
    assert result.output == (
        "Error: spectral and redocly: not installed: in a checkout of the toolkit run `npm ci`, "
        f"elsewhere `npm install -g {spectral} {redocly}`\n"
    )


def test_lint_without_external_needs_neither_tool(runner: CliRunner, no_tools: Path) -> None:
    result = runner.invoke(cli, ["lint"])

    assert result.exit_code == 0, result.output


def test_a_tool_installed_with_npm_install_g_is_found_on_path(no_tools: Path) -> None:
    executable = no_tools / "redocly"
    executable.write_text("#!/bin/sh\n")
    executable.chmod(0o755)

    redocly = next(tool for tool in external_lint.TOOLS if tool.name == "redocly")
    spectral = next(tool for tool in external_lint.TOOLS if tool.name == "spectral")

    assert redocly.executable == executable
    assert spectral.executable is None
