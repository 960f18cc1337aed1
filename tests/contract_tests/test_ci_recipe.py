"""The CI recipe of the docs is valid YAML, and the esdc-api check it runs takes the options
it gives."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import yaml
from click.testing import CliRunner

from esdc_api.cli import cli

PAGE = Path(__file__).resolve().parents[2] / "docs" / "ci.rst"


def _blocks() -> list[str]:
    blocks = re.findall(r"\.\. code-block:: yaml\n\n((?:   .*\n|\n)+)", PAGE.read_text())
    return ["\n".join(line[3:] for line in block.splitlines()) for block in blocks]


def _commands(node: object) -> list[str]:
    if isinstance(node, str):
        return [node] if node.startswith("esdc-api check") else []
    if isinstance(node, dict):
        return [c for value in node.values() for c in _commands(value)]
    if isinstance(node, list):
        return [c for value in node for c in _commands(value)]
    return []


def test_the_recipe_has_a_github_and_a_gitlab_job_that_keep_the_junit_report() -> None:
    github, gitlab = (yaml.safe_load(block) for block in _blocks())
    steps = github["jobs"]["esdc-check"]["steps"]
    assert any("secrets.ESDC_API_KEY" in str(step.get("env", {})) for step in steps)
    assert gitlab["esdc-check"]["artifacts"]["reports"]["junit"] == "esdc-check.xml"
    assert _commands(github) and _commands(gitlab)


def test_the_recipes_commands_use_options_esdc_api_check_has() -> None:
    help_text = CliRunner().invoke(cli, ["check", "--help"]).output
    for block in _blocks():
        for command in _commands(yaml.safe_load(block)):
            for word in shlex.split(command):
                if word.startswith("--"):
                    assert word in help_text, word
    assert "[default: 540" in help_text
