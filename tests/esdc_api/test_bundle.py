from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from esdc_api.cli import cli
from esdc_api.spec import load_bundle, load_spec, operations


def read(path: Path) -> Any:
    return (
        json.loads(path.read_text()) if path.suffix == ".json" else yaml.safe_load(path.read_text())
    )


@pytest.mark.parametrize("name", ["openapi.json", "openapi.yaml", "openapi.yml"])
def test_bundle_writes_the_document_load_bundle_returns(
    name: str, runner: CliRunner, tmp_path: Path
) -> None:
    output = tmp_path / name

    result = runner.invoke(cli, ["bundle", "-o", str(output)])

    assert result.exit_code == 0, result.output
    assert "(23 operations)" in result.output
    written = read(output)
    assert written == load_bundle()
    assert written["components"]["schemas"]["Error"]["title"] == "Error"


def test_bundle_dereference_writes_the_resolved_form(runner: CliRunner, tmp_path: Path) -> None:
    output = tmp_path / "openapi.json"

    result = runner.invoke(cli, ["bundle", "--dereference", "-o", str(output)])

    assert result.exit_code == 0, result.output
    written = read(output)
    assert written == load_spec()
    assert "$ref" not in output.read_text()
    assert list(written["components"]) == ["securitySchemes"]


def test_bundle_refuses_a_file_name_without_a_known_extension(
    runner: CliRunner, tmp_path: Path
) -> None:
    result = runner.invoke(cli, ["bundle", "-o", str(tmp_path / "openapi.txt")])

    assert result.exit_code == 2
    assert "'openapi.txt'" in result.output
    assert ".json, .yaml or .yml" in result.output
    assert not (tmp_path / "openapi.txt").exists()


def test_bundle_names_a_missing_spec_file_without_a_traceback(
    runner: CliRunner, tmp_path: Path
) -> None:
    result = runner.invoke(
        cli, ["bundle", "-o", str(tmp_path / "out.json"), "--spec", str(tmp_path / "nope.yaml")]
    )

    assert result.exit_code == 2
    assert "nope.yaml" in result.output
    assert "does not exist" in result.output
    assert "Traceback" not in result.output


def test_bundle_names_a_missing_default_spec_without_a_traceback(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ESDC_SPEC", str(tmp_path / "gone" / "openapi.yaml"))

    result = runner.invoke(cli, ["bundle", "-o", str(tmp_path / "out.json")])

    assert result.exit_code == 1
    assert "no OpenAPI spec at" in result.output
    assert "gone/openapi.yaml" in result.output
    assert "Traceback" not in result.output


@pytest.mark.filterwarnings(
    # connexion 3.3 imports jsonschema's deprecated RefResolver (see toolchain-notes.md)
    "ignore:.*is deprecated:DeprecationWarning:connexion.json_schema"
)
def test_the_bundled_spec_loads_in_connexion() -> None:
    import connexion
    from connexion.resolver import Resolver

    calls: list[str] = []

    def handler_for(operation_id: str) -> Any:
        def stub(**_: Any) -> tuple[dict[str, str], int]:
            calls.append(operation_id)
            return {"detail": "not implemented"}, 501

        return stub

    app = connexion.AsyncApp(__name__)
    app.add_api(load_spec(), resolver=Resolver(function_resolver=handler_for))
    # A wrong operationId fails on the first request, not in add_api(): send one.
    response = app.test_client().post(
        "/api/accounts/login/", json={"username": "alice", "password": "alice"}
    )

    assert response.status_code == 501
    assert calls == ["login"]


def test_the_bundled_spec_loads_in_schemathesis_with_every_operation() -> None:
    import schemathesis
    from schemathesis.core.result import Err, Ok

    spec = load_spec()
    schema = schemathesis.openapi.from_dict(spec)

    results = list(schema.get_all_operations())

    assert [result.err() for result in results if isinstance(result, Err)] == []
    labels = [result.ok().label for result in results if isinstance(result, Ok)]
    expected = [f"{method.upper()} {path}" for path, method, _ in operations(spec)]
    assert len(labels) == 23  # 12 operations and OPTIONS of each of the 11 paths
    assert sorted(labels) == sorted(expected)
