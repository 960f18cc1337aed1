"""The replay reaches the reference server only through its public surface."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import esdc_api.replay

PACKAGE = Path(esdc_api.replay.__file__).parent


def test_importing_the_replay_loads_no_part_of_the_reference_server() -> None:
    probe = (
        "import sys, esdc_api.replay; print(sorted(m for m in sys.modules if 'mockserver' in m))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_the_replay_imports_only_create_app_and_settings_of_the_reference_server() -> None:
    imported = set()
    for path in PACKAGE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("mockserver"):
                imported |= {(node.module, alias.name) for alias in node.names}
            if isinstance(node, ast.Import):
                assert not any(a.name.startswith("mockserver") for a in node.names), path
    assert imported == {("mockserver", "Settings"), ("mockserver", "create_app")}
