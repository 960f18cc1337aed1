from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from esdc_api.spec import SPEC_ROOT

Plant = Callable[[str, str, str], None]


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.delenv("ESDC_SPEC", raising=False)
    return CliRunner()


@pytest.fixture
def spec_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The root file of a copy of the project's ``openapi/`` in ``tmp_path``, made the working
    directory so that reports name its files ``openapi/...``, as they do in the project."""
    shutil.copytree(SPEC_ROOT.parent, tmp_path / "openapi")
    monkeypatch.chdir(tmp_path)
    return tmp_path / "openapi" / "openapi.yaml"


@pytest.fixture
def plant(spec_copy: Path) -> Plant:
    """``plant(file, old, new)`` replaces ``old``, which must occur once, in a file of the copy."""

    def replace(file: str, old: str, new: str) -> None:
        path = spec_copy.parent / file
        text = path.read_text()
        assert text.count(old) == 1, f"{old!r} is not exactly once in {file}"
        path.write_text(text.replace(old, new))

    return replace
