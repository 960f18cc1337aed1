from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from esdc_api import bundler, sourcemap
from esdc_api.errors import SpecError
from esdc_api.sourcemap import Origin
from esdc_api.spec import CONTROL_SPEC_ROOT, SPEC_ROOT

OPENAPI = SPEC_ROOT.parent


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def nodes(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from nodes(value, (*path, key))
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from nodes(item, (*path, index))


def refs(document: Any) -> list[str]:
    return [
        node["$ref"] for _, node in nodes(document) if isinstance(node, dict) and "$ref" in node
    ]


def spec_with(tmp_path: Path, schema_ref: str, files: dict[str, str]) -> Path:
    """A one-operation spec whose 200 answer has the schema ``schema_ref``, and ``files``."""
    for name, text in files.items():
        write(tmp_path / name, text)
    media = f"{{application/json: {{schema: {{$ref: '{schema_ref}'}}}}}}"
    return write(
        tmp_path / "openapi.yaml",
        "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths:\n  /a/:\n    get:\n"
        f"      responses: {{'200': {{description: ok, content: {media}}}}}\n",
    )


@pytest.fixture(scope="module")
def bundled() -> bundler.Bundle:
    return bundler.bundle(sourcemap.load(SPEC_ROOT))


def test_a_shared_schema_is_written_once_and_referred_to_everywhere(
    bundled: bundler.Bundle,
) -> None:
    document = bundled.document
    definitions = [
        path
        for path, node in nodes(document)
        if isinstance(node, dict) and node.get("title") == "Error"
    ]

    assert definitions == [("components", "schemas", "Error")]
    assert refs(document).count("#/components/schemas/Error") > 10


def test_definitions_are_named_as_their_files_define_them(bundled: bundler.Bundle) -> None:
    components = bundled.document["components"]
    parameter = components["parameters"]["TaskId"]

    assert parameter["schema"] == {"$ref": "#/components/schemas/TaskId"}
    assert components["schemas"]["TaskId"]["title"] == "TaskId"
    assert bundled.document["paths"]["/task/{task_id}/status/"]["parameters"] == [
        {"$ref": "#/components/parameters/TaskId"}
    ]


def test_the_kind_of_a_definition_follows_from_where_it_is_used(bundled: bundler.Bundle) -> None:
    # responses/headers.yaml sits beside the responses but holds headers.
    components = bundled.document["components"]
    status = components["responses"]["StatusSuccess"]

    assert status["headers"]["es_version"] == {"$ref": "#/components/headers/EsVersion"}
    assert "EsVersion" in components["headers"]
    assert "EsVersion" not in components["responses"]
    assert set(components) == {
        "schemas", "responses", "parameters", "examples", "headers", "securitySchemes"
    }  # fmt: skip


def test_path_items_are_written_in_place(bundled: bundler.Bundle) -> None:
    paths = bundled.document["paths"]

    assert [path for path, item in paths.items() if "$ref" in item] == []
    assert paths["/task/"]["get"]["operationId"] == "taskList"


def test_every_ref_of_the_bundle_points_at_a_component_it_holds(bundled: bundler.Bundle) -> None:
    document = bundled.document
    found = refs(document)

    assert found
    assert [ref for ref in found if not ref.startswith("#/components/")] == []
    components = document["components"]
    assert [r for r in found if r.split("/")[3] not in components[r.split("/")[2]]] == []


@pytest.mark.parametrize("root", [SPEC_ROOT, CONTROL_SPEC_ROOT], ids=["task", "control"])
def test_the_resolved_form_is_the_document_the_source_map_resolves(root: Path) -> None:
    source = sourcemap.load(root)

    assert bundler.bundle(source).resolved() == source.document


def test_the_root_files_own_components_keep_their_names_and_references() -> None:
    bundled = bundler.bundle(sourcemap.load(CONTROL_SPEC_ROOT))

    # What the root does not define is the world file's format, from its own file.
    world = set(yaml.safe_load((CONTROL_SPEC_ROOT.parent / "world.yaml").read_text()))
    assert {kind for kind, _name in bundled.added} <= {"schemas"}
    assert {name for _kind, name in bundled.added} <= world
    assert "Clock" in bundled.document["components"]["schemas"]
    assert "#/components/schemas/Clock" in refs(bundled.document)


def test_a_name_another_file_took_is_given_with_the_file_name(tmp_path: Path) -> None:
    files = {
        "a.yaml": "Error: {type: object, properties: {other: {$ref: 'b.yaml#/Error'}}}\n",
        "b.yaml": "Error:\n  type: string\n",
    }
    root = spec_with(tmp_path, "a.yaml#/Error", files)

    bundled = bundler.bundle(sourcemap.load(root))

    schemas = bundled.document["components"]["schemas"]
    assert schemas["Error"]["properties"]["other"] == {"$ref": "#/components/schemas/b_Error"}
    assert schemas["b_Error"] == {"type": "string"}
    assert [str(renamed) for renamed in bundled.renamed] == [
        f"schemas 'Error' is also defined at {Origin(tmp_path / 'a.yaml', '/Error')}: "
        "the bundle names this one 'b_Error'"
    ]


def test_a_ref_below_the_top_of_a_file_is_written_in_place(tmp_path: Path) -> None:
    files = {"s.yaml": "Outer:\n  type: object\n  properties:\n    inner:\n      type: integer\n"}
    root = spec_with(tmp_path, "s.yaml#/Outer/properties/inner", files)

    bundled = bundler.bundle(sourcemap.load(root))

    media = bundled.document["paths"]["/a/"]["get"]["responses"]["200"]["content"]
    assert media["application/json"]["schema"] == {"type": "integer"}
    assert "components" not in bundled.document


def test_a_recursive_schema_keeps_its_ref_and_has_no_resolved_form(tmp_path: Path) -> None:
    files = {"s.yaml": "Node: {properties: {children: {type: array, items: {$ref: '#/Node'}}}}\n"}
    root = spec_with(tmp_path, "s.yaml#/Node", files)

    bundled = bundler.bundle(sourcemap.load(root))

    node = bundled.document["components"]["schemas"]["Node"]
    assert node["properties"]["children"]["items"] == {"$ref": "#/components/schemas/Node"}
    with pytest.raises(SpecError, match="refers to itself: #/components/schemas/Node"):
        bundled.resolved()


def test_a_dangling_ref_stops_the_bundle_naming_where_it_is(tmp_path: Path) -> None:
    root = spec_with(tmp_path, "s.yaml#/Missing", {"s.yaml": "Present: {type: string}\n"})

    with pytest.raises(
        SpecError, match=r"openapi.yaml#/paths/.*/schema/\$ref: .*points at nothing"
    ):
        bundler.bundle(sourcemap.load(root))


def test_locate_follows_a_ref_into_the_component(bundled: bundler.Bundle) -> None:
    through_use = bundled.locate(
        ["paths", "/task/{task_id}/status/", "get", "responses", "200", "content",
         "application/json", "examples", "success", "value", "status"]
    )  # fmt: skip
    at_component = bundled.locate(["components", "schemas", "TaskId", "pattern"])
    at_ref = bundled.locate(["paths", "/task/{task_id}/status/", "get", "responses", "200", "$ref"])

    assert through_use == Origin(OPENAPI / "examples/task.yaml", "/StatusSuccess/value/status")
    assert at_component == Origin(OPENAPI / "schemas/task.yaml", "/TaskId/pattern")
    assert at_ref == Origin(OPENAPI / "paths/task-status.yaml", "/get/responses/200/$ref")
