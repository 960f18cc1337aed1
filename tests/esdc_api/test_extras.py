"""The extras: the server and es need none of them, and a missing one is named, not a traceback."""

from __future__ import annotations

import subprocess
import sys
import tomllib

import pytest
from click.testing import CliRunner

from esdc_api import extras
from esdc_api.cli import cli
from esdc_api.resources import data_dir

# Each extra is named after the subcommand that needs it.
CASES = [(extra, module) for extra, modules in extras.EXTRAS.items() for module in modules]


@pytest.mark.parametrize(("extra", "module"), CASES)
def test_a_subcommand_without_its_extra_names_the_pip_install_that_brings_it(
    extra: str, module: str, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # as if it were not installed
    command = extra

    result = runner.invoke(cli, [command])

    assert result.exit_code == 1
    assert result.output == (
        f"Error: esdc-api {command} needs the toolkit's {extra!r} extra ({module} is not "
        f"installed): pip install 'esdc-api-toolkit[{extra}]'\n"
    )


def test_the_extras_checked_are_those_pyproject_declares() -> None:
    project = tomllib.loads((data_dir() / "pyproject.toml").read_text())["project"]
    declared = project["optional-dependencies"]

    assert set(declared) == {*extras.EXTRAS, "all", "test"}
    assert declared["all"] == [f"esdc-api-toolkit[{','.join(extras.EXTRAS)}]"]
    assert "esdc-api-toolkit[all]" in declared["test"]


def test_the_server_and_es_import_no_optional_part() -> None:
    code = (
        "import sys, esdc_api.cli, esdc_api.es.cli, esdc_api.docs.build, mockserver; "
        "mockserver.create_app(); "
        "print(sorted({m.split('.')[0] for m in sys.modules} & set(sys.argv[1:])))"
    )
    optional = ["sphinx", "schemathesis", "pytest", "openapi_spec_validator", "prance"]

    done = subprocess.run(
        [sys.executable, "-c", code, *optional], capture_output=True, text=True, check=True
    )

    assert done.stdout.strip() == "[]"
