"""The docs site, built once per session by ``esdc-api docs`` in a subprocess, and spec copies."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from esdc_api.spec import SPEC_ROOT


@dataclass(frozen=True)
class Build:
    """One run of ``esdc-api docs``: where it wrote, what it printed and how long it took."""

    output: Path
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    def page(self, name: str) -> str:
        return (self.output / name).read_text()

    def generated(self, name: str) -> str:
        """The reST a directive generated, as the build wrote it next to the doctrees."""
        return (self.output / ".doctrees" / "esdc-generated" / name).read_text()


def build_docs(output: Path, *extra: str) -> Build:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "esdc_api", "docs", "-o", str(output), *extra],
        capture_output=True,
        text=True,
        timeout=120,
    )
    return Build(output, done.returncode, done.stdout, done.stderr, time.perf_counter() - started)


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Build]:
    """The site as ``esdc-api docs -o DIR`` builds it from the project's spec."""
    build = build_docs(tmp_path_factory.mktemp("docs") / "html")
    assert build.returncode == 0, f"esdc-api docs failed:\n{build.stdout}\n{build.stderr}"
    yield build


@pytest.fixture
def spec_copy(tmp_path: Path) -> Path:
    """A copy of openapi/ to change; returns its root file."""
    shutil.copytree(SPEC_ROOT.parent, tmp_path / "openapi")
    return tmp_path / "openapi" / "openapi.yaml"
