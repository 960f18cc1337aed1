from __future__ import annotations

from pathlib import Path

import pytest

from esdc_api import sourcemap
from esdc_api.sourcemap import Origin
from esdc_api.spec import SPEC_ROOT

OPENAPI = SPEC_ROOT.parent


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.mark.parametrize("root", [SPEC_ROOT, OPENAPI / "control" / "openapi.yaml"])
def test_resolves_the_spec_into_the_same_document_as_prance(root: Path) -> None:
    import prance  # an independent resolver, installed with the test extra

    parser = prance.ResolvingParser(str(root), lazy=True, strict=False)
    parser.parse()
    source = sourcemap.load(root)

    assert source.ref_errors == []
    assert source.document == parser.specification


def test_a_referenced_example_keeps_the_origin_of_its_own_definition() -> None:
    source = sourcemap.load(SPEC_ROOT)
    status = source.document["paths"]["/task/{task_id}/status/"]["get"]
    state = source.document["paths"]["/task/{task_id}/state/"]["get"]

    example = status["responses"]["200"]["content"]["application/json"]["examples"]["success"]

    assert source.origin(example) == Origin(OPENAPI / "examples/task.yaml", "/StatusSuccess")
    assert state["responses"]["200"]["content"]["application/json"]["examples"]["success"] is (
        example
    )


def test_locate_follows_a_path_down_to_a_scalar_and_escapes_the_pointer() -> None:
    source = sourcemap.load(SPEC_ROOT)

    where = source.locate(["paths", "/task/", "get", "responses", "200", "content"])
    scalar = source.locate(["paths", "/task/", "get", "operationId"])

    assert where == Origin(OPENAPI / "paths/task-list.yaml", "/get/responses/200/content")
    assert scalar == Origin(OPENAPI / "paths/task-list.yaml", "/get/operationId")
    assert str(source.locate(["paths", "/task/"])).endswith("openapi/paths/task-list.yaml#")


def test_pointers_escape_slashes_and_tildes() -> None:
    origin = Origin(Path("/spec/openapi.yaml")).child("paths", "/task/{id}/", "a~b", 0)

    assert origin.pointer == "/paths/~1task~1{id}~1/a~0b/0"


def test_a_dangling_ref_is_reported_at_the_ref_and_left_as_written(tmp_path: Path) -> None:
    root = write(tmp_path / "root.yaml", "a:\n  b:\n    $ref: 'other.yaml#/Missing'\n")
    write(tmp_path / "other.yaml", "Present: 1\n")

    source = sourcemap.load(root)

    [error] = source.ref_errors
    assert error.origin == Origin(root, "/a/b/$ref")
    assert "has no '/Missing'" in error.message
    assert source.document == {"a": {"b": {"$ref": "other.yaml#/Missing"}}}


def test_a_recursive_schema_becomes_a_cycle_instead_of_recursing_forever(tmp_path: Path) -> None:
    root = write(
        tmp_path / "root.yaml",
        "Node:\n  type: object\n  properties:\n    child:\n      $ref: '#/Node'\n",
    )

    source = sourcemap.load(root)

    node = source.document["Node"]
    assert node["properties"]["child"] is node
    assert source.ref_errors == []


def test_a_ref_to_itself_is_an_error(tmp_path: Path) -> None:
    root = write(tmp_path / "root.yaml", "A:\n  $ref: '#/A'\n")

    source = sourcemap.load(root)

    [error] = source.ref_errors
    assert error.origin == Origin(root, "/A/$ref")


def test_a_missing_root_file_raises(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        sourcemap.load(tmp_path / "nope.yaml")
