"""Spectral and Redocly, the OpenAPI linters our users run, on a bundled spec.

Both are npm packages pinned in the repository's ``package.json`` (``npm ci`` installs them
into ``node_modules/.bin``) and configured by ``.spectral.yaml`` and ``redocly.yaml`` at the
repository root. Each reports a finding at a path into the bundled document; the caller maps
it back to a source file.
"""

from __future__ import annotations

import json
import os
import subprocess
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from esdc_api.errors import ExternalToolError
from esdc_api.sourcemap import Key, unescape
from esdc_api.spec import REPO_ROOT

BIN = REPO_ROOT / "node_modules" / ".bin"
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


@dataclass(frozen=True)
class Tool:
    """An npm linter, run from ``node_modules/.bin`` with its config file."""

    name: str
    config: Path

    @property
    def executable(self) -> Path:
        return BIN / self.name

    @property
    def installed(self) -> bool:
        return self.executable.is_file()

    def command(self, bundle: Path) -> list[str]:
        raise NotImplementedError

    def parse(self, report: Any) -> list[Finding]:
        raise NotImplementedError

    def run(self, bundle: Path) -> list[Finding]:
        """Lint ``bundle``; the findings of severity error and warning.

        :raises ExternalToolError: if the tool is not installed, fails, or prints no report.
        """
        if not self.installed:
            raise ExternalToolError(
                self.name, f"not installed at {str(self.executable)!r}; run `npm ci` first"
            )
        try:
            done = subprocess.run(
                self.command(bundle),
                capture_output=True,
                text=True,
                timeout=300,
                cwd=REPO_ROOT,
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
            str(self.executable),
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
        return [str(self.executable), "lint", "--config", config, "--format", "json", str(bundle)]

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


TOOLS: tuple[Tool, ...] = (
    Spectral("spectral", REPO_ROOT / ".spectral.yaml"),
    Redocly("redocly", REPO_ROOT / "redocly.yaml"),
)
