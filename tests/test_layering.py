"""The reference server's domain core stays free of HTTP, so it is tested by direct calls."""

import subprocess
import sys

import pytest

CORE = [
    "clock",
    "ids",
    "accounts",
    "errors",
    "lifecycle",
    "permissions",
    "tasklog",
    "store",
    "logcounts",
    "throttle",
    "deployment",
    "fates",
    "worlds.model",
    "worlds.document",
    "worlds.install",
    "worlds.esdc_export",
    "worlds.history",
    "pyset",
]
WEB = ("connexion", "starlette", "httpx", "httpx2", "uvicorn", "prance")

# Importing the package would run mockserver/__init__.py, which wires the whole app; the
# module is imported alone, under a stub package pointing at the same folder.
PROBE = """
import importlib.util, pathlib, sys, types
root = pathlib.Path(importlib.util.find_spec("mockserver").submodule_search_locations[0])
package = types.ModuleType("mockserver")
package.__path__ = [str(root)]
sys.modules["mockserver"] = package
importlib.import_module("mockserver." + sys.argv[1])
print(",".join(sorted(m for m in sys.modules if m.split(".")[0] in sys.argv[2].split(","))))
"""


@pytest.mark.parametrize("module", CORE)
def test_core_module_imports_no_web_framework(module: str) -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, module, ",".join(WEB)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == "", f"mockserver.{module} pulls in {result.stdout.strip()}"


def test_the_probe_would_see_a_web_framework() -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, "middleware", ",".join(WEB)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "starlette" in result.stdout
