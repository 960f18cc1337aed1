"""What ``OPTIONS`` answers (the ``es help`` action): the view's name and a description of its
methods, both read from the spec.

The name is the path item's ``x-view-name``, as real deployments name the view. The
description is ours (the spec declares it in ``x-deviations`` as ``options-description``) but
laid out as real deployments lay out theirs, a reStructuredText docstring, so that a client
that reads it finds the same structure: a summary naming each method, then for each method an
``.. http:<method>::`` block with ``:DC-bound?:``, ``:Permissions:``, ``:Asynchronous?:``,
``:arg ...:`` and ``:status N:`` lines.
"""

from __future__ import annotations

import re
from typing import Any

METHODS = ("get", "put", "post", "delete", "patch")
#: Media types every view renders and parses.
MEDIA_TYPES = ["application/json"]
_INDENT = "    "


def first_sentence(text: str) -> str:
    """The first sentence of a description, on one line."""
    flat = " ".join(text.split())
    found = re.search(r"(?<=[.:])\s", flat)
    sentence = flat if found is None else flat[: found.start()]
    return sentence.rstrip(":")


def _doc_path(template: str) -> str:
    """``/task/{task_id}/status/`` as real docstrings write it: ``/task/(task_id)/status``."""
    return re.sub(r"\{([^}]+)\}", r"(\1)", template.rstrip("/")) or "/"


def _flag(name: str, value: object) -> list[str]:
    prefix = "dc" if name == "DC-bound?" else "async"
    return [f":{name}:", f"{_INDENT}* |{prefix}-{'yes' if value else 'no'}|"]


def _type_of(schema: dict[str, Any]) -> str:
    kind = str(schema.get("type", "string"))
    if "enum" in schema:
        return f"{kind} (one of: {', '.join(str(v) for v in schema['enum'])})"
    if schema.get("format") == "date":
        return f"{kind} (date)"
    return kind


def _args(operation: dict[str, Any], path_parameters: list[dict[str, Any]]) -> list[str]:
    lines = []
    parameters = [*path_parameters, *operation.get("parameters", [])]
    for param in parameters:
        if param["in"] == "path":
            summary = first_sentence(param.get("description", param["name"]))
            lines.append(f":arg string {param['name']}: **required** - {summary}")
    for param in parameters:
        if param["in"] != "query" or param["name"] == "dc":  # dc is every DC-bound call's
            continue
        schema = param.get("schema", {})
        default = schema.get("default")
        shown = "null" if default is None else str(default).lower()
        lines.append(
            f":arg data.{param['name']}: {first_sentence(param.get('description', ''))} "
            f"(default: {shown})"
        )
        lines.append(f":type data.{param['name']}: {_type_of(schema)}")
    body = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
    schema = body.get("schema", {})
    required = set(schema.get("required", []))
    for name, prop in schema.get("properties", {}).items():
        if name == "dc":
            continue
        text = first_sentence(prop.get("description", name))
        if name in required:
            lines.append(f":arg {prop.get('type', 'string')} data.{name}: **required** - {text}")
        else:
            lines.append(f":arg data.{name}: {text} (default: {str(prop.get('default')).lower()})")
            lines.append(f":type data.{name}: {_type_of(prop)}")
    return lines


def _block(template: str, method: str, operation: dict[str, Any], path_item: dict[str, Any]) -> str:
    lines = [
        *_flag("DC-bound?", operation.get("x-dc-bound")),
        ":Permissions:",
        *([f"{_INDENT}* |{operation['x-permission']}|"] if operation.get("x-permission") else []),
        *_flag("Asynchronous?", operation.get("x-asynchronous")),
        *_args(operation, path_item.get("parameters", [])),
        *(
            f":status {code}: {first_sentence(response.get('description', ''))}"
            for code, response in operation.get("responses", {}).items()
        ),
    ]
    body = "\n".join(_INDENT + line for line in lines)
    return f".. http:{method}:: {_doc_path(template)}\n\n{body}"


def describe(template: str, path_item: dict[str, Any]) -> str:
    """The description OPTIONS gives for the path ``template`` of the spec."""
    operations = [(m, path_item[m]) for m in METHODS if m in path_item]
    summary = " ".join(
        f"{op['summary']} (:http:{m}:`{m.upper()} <{_doc_path(template)}>`)."
        for m, op in operations
    )
    return "\n\n".join([summary, *(_block(template, m, op, path_item) for m, op in operations)])


def view_name(path_item: dict[str, Any]) -> str:
    """The path item's ``x-view-name``; without one, its first operationId in words, the way
    Django REST framework names views (``taskLogStats``: ``Task Log Stats``)."""
    if path_item.get("x-view-name"):
        return str(path_item["x-view-name"])
    operation_id = next(path_item[m]["operationId"] for m in METHODS if m in path_item)
    return re.sub(r"(?<!^)(?=[A-Z])", " ", operation_id[0].upper() + operation_id[1:])


def metadata(template: str, path_item: dict[str, Any]) -> dict[str, Any]:
    """The whole OPTIONS body: ``name``, ``description``, ``renders`` and ``parses``."""
    return {
        "name": view_name(path_item),
        "description": describe(template, path_item),
        "renders": list(MEDIA_TYPES),
        "parses": list(MEDIA_TYPES),
    }
