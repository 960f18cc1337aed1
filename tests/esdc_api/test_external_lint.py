"""Spectral and Redocly on the bundled spec. CI installs both (`npm ci`) before pytest runs, so a
missing tool fails these tests instead of skipping them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from esdc_api import external_lint
from esdc_api.cli import cli

Plant = Callable[[str, str, str], None]


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("bundle") / "openapi.json"
    result = CliRunner().invoke(cli, ["bundle", "-o", str(path)])
    assert result.exit_code == 0, result.output
    return path


@pytest.mark.parametrize("tool", external_lint.TOOLS, ids=lambda tool: tool.name)
def test_the_bundled_spec_has_no_errors_for(tool: external_lint.Tool, bundle: Path) -> None:
    assert tool.installed, f"{tool.name} is not at {tool.executable}: run `npm ci` first"

    findings = tool.run(bundle)

    errors = [f"{f.rule} at {'/'.join(map(str, f.path))}: {f.message}" for f in findings]
    assert [f for f in findings if f.severity == "error"] == [], "\n".join(errors)


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


def test_lint_external_notes_a_tool_that_is_not_installed(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(external_lint, "BIN", tmp_path)

    result = runner.invoke(cli, ["lint", "--external"])

    assert result.exit_code == 0, result.output
    assert "note: spectral skipped: not installed" in result.output
    assert "run `npm ci`" in result.output
