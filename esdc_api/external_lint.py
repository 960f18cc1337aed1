"""Spectral and Redocly, the OpenAPI linters our users run, on a bundled spec.

Both are npm packages pinned in the repository's ``package.json`` and configured by
``.spectral.yaml`` and ``redocly.yaml`` (the wheel carries all three, see
:mod:`esdc_api.resources`). They are looked for in ``node_modules/.bin`` of the checkout (where
``npm ci`` puts them) and of the working directory, then on ``PATH`` (``npm install -g``).
Each reports a finding at a path into the bundled document; the caller maps it back to a
source file.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from esdc_api import resources
from esdc_api.errors import ExternalToolError
from esdc_api.sourcemap import Key, unescape

#: Neither tool needs the network to lint a local file: no telemetry, no update check.
_QUIET_ENV = {
    "REDOCLY_TELEMETRY": "off",
    "REDOCLY_SUPPRESS_UPDATE_NOTICE": "true",
    "NO_UPDATE_NOTIFIER": "1",
}


@dataclass(frozen=True)
class Finding:
    """One thing a tool reports: where in the bundled document, its rule and its message."""

    path: tuple[Key, ...]
    rule: str
    message: str
    severity: str  # "error" or "warning"


def bin_dirs() -> list[Path]:
    """Where ``npm ci`` puts the tools: the checkout's and the working directory's
    ``node_modules/.bin``."""
    return [resources.path("node_modules", ".bin"), Path.cwd() / "node_modules" / ".bin"]


def pinned(package: str) -> str:
    """The version of an npm package that ``package.json`` pins."""
    manifest = json.loads(resources.path("package.json").read_text())
    return str(manifest["devDependencies"][package])


@dataclass(frozen=True)
class Tool:
    """An npm linter (the executable ``name`` of the npm ``package``) with its config file."""

    name: str
    package: str
    config: Path

    @property
    def executable(self) -> Path | None:
        """Where the tool is: in a ``node_modules/.bin`` of :func:`bin_dirs`, else on PATH."""
        for folder in bin_dirs():
            if (folder / self.name).is_file():
                return folder / self.name
        found = shutil.which(self.name)
        return Path(found) if found else None

    @property
    def installed(self) -> bool:
        return self.executable is not None

    def command(self, bundle: Path) -> list[str]:
        raise NotImplementedError

    def parse(self, report: Any) -> list[Finding]:
        raise NotImplementedError

    def run(self, bundle: Path) -> list[Finding]:
        """Lint ``bundle``; the findings of severity error and warning.

        :raises ExternalToolError: if the tool is not installed, fails, or prints no report.
        """
        if self.executable is None:
            raise MissingTools([self])
        try:
            done = subprocess.run(
                self.command(bundle),
                capture_output=True,
                text=True,
                timeout=300,
                cwd=bundle.parent,
                env={**os.environ, **_QUIET_ENV},
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ExternalToolError(self.name, f"cannot run it: {exc}") from exc
        try:
            return self.parse(json.loads(done.stdout))
        except (ValueError, KeyError, TypeError) as exc:
            tail = (done.stderr or done.stdout).strip()[-500:]
            raise ExternalToolError(
                self.name, f"exited {done.returncode} without a report: {tail!r}"
            ) from exc


class Spectral(Tool):
    # Spectral's numeric severities: 0 error, 1 warning, 2 information, 3 hint.
    _SEVERITIES = {0: "error", 1: "warning"}

    def command(self, bundle: Path) -> list[str]:
        ruleset = str(self.config)
        # --quiet: without it Spectral prints a sentence after the JSON report.
        return [
            str(self.executable or self.name),
            "lint",
            "--quiet",
            "--ruleset",
            ruleset,
            "--format",
            "json",
            str(bundle),
        ]

    def parse(self, report: Any) -> list[Finding]:
        return [
            Finding(tuple(item["path"]), item["code"], item["message"], severity)
            for item in report
            if (severity := self._SEVERITIES.get(item["severity"]))
        ]


class Redocly(Tool):
    _SEVERITIES = {"error": "error", "warn": "warning"}

    def command(self, bundle: Path) -> list[str]:
        config = str(self.config)
        return [
            str(self.executable or self.name),
            "lint",
            "--config",
            config,
            "--format",
            "json",
            str(bundle),
        ]

    def parse(self, report: Any) -> list[Finding]:
        return [
            Finding(
                _pointer_path(item["location"][0]["pointer"]),
                item["ruleId"],
                item["message"],
                severity,
            )
            for item in report["problems"]
            if (severity := self._SEVERITIES.get(item["severity"]))
        ]


def _pointer_path(pointer: str) -> tuple[Key, ...]:
    """``#/paths/~1task~1/get`` as ``("paths", "/task/", "get")``."""
    tokens = urllib.parse.unquote(pointer.removeprefix("#")).split("/")[1:]
    return tuple(unescape(token) for token in tokens)


class MissingTools(ExternalToolError):
    """Raised when tools are not installed; says how to install them, pinned."""

    def __init__(self, tools: Sequence[Tool]) -> None:
        names = " and ".join(tool.name for tool in tools)
        packages = " ".join(f"{tool.package}@{pinned(tool.package)}" for tool in tools)
        super().__init__(
            names,
            "not installed: in a checkout of the toolkit run `npm ci`, "
            f"elsewhere `npm install -g {packages}`",
        )
        self.tools = list(tools)


def require(tools: Sequence[Tool]) -> None:
    """Make sure every tool of ``tools`` is installed.

    :raises MissingTools: naming those that are not, and how to install them.
    """
    missing = [tool for tool in tools if not tool.installed]
    if missing:
        raise MissingTools(missing)


TOOLS: tuple[Tool, ...] = (
    Spectral("spectral", "@stoplight/spectral-cli", resources.path(".spectral.yaml")),
    Redocly("redocly", "@redocly/cli", resources.path("redocly.yaml")),
)
