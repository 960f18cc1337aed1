"""The package's surface: what it exports, and that it needs nothing but httpx."""

from __future__ import annotations

import subprocess
import sys

import esdc_api.es


def test_the_package_exports_run_and_its_exit_codes() -> None:
    assert esdc_api.es.__all__ == ["ES_VERSION", "ExitCode", "run"]
    assert esdc_api.es.run.__module__ == "esdc_api.es.cli"


def test_importing_es_loads_nothing_of_the_server_or_the_spec_tooling() -> None:
    # Not click: httpx itself imports it (for its own CLI) when it is installed.
    code = (
        "import sys, esdc_api.es; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'starlette', 'connexion', 'uvicorn', 'httpx2', 'yaml', 'prance', 'mockserver'}))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
