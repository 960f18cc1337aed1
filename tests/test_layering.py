"""The reference server's domain core stays free of HTTP, so it is tested by direct calls."""

import subprocess
import sys

import pytest

CORE = ["clock", "ids", "accounts", "errors", "lifecycle", "permissions", "tasklog", "store", "throttle", "deployment", "demo_data"]


@pytest.mark.parametrize("module", CORE)
def test_core_module_imports_no_web_framework(module: str) -> None:
    code = (
        f"import sys, mockserver.{module}\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('connexion', 'starlette', 'httpx', 'httpx2', 'uvicorn', 'prance'))\n"
        "print(','.join(bad))"
    )
    # importing the package runs mockserver/__init__.py, which wires the app: import the module
    # file alone, under its package, with a stub package in its place
    stub = (
        "import importlib.util, pathlib, sys, types\n"
        "root = pathlib.Path(importlib.util.find_spec('mockserver').submodule_search_locations[0])\n"
        "pkg = types.ModuleType('mockserver'); pkg.__path__ = [str(root)]; sys.modules['mockserver'] = pkg\n"
    )
    result = subprocess.run([sys.executable, "-c", stub + code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "", f"mockserver.{module} pulls in {result.stdout.strip()}"
