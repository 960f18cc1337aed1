"""``esdc-api lint``: every defect of the spec, each at its source file and JSON pointer.

Rules, by the name shown in brackets in each report line:

``ref``
    a ``$ref`` that names a missing file or pointer, or a file that cannot be parsed.
``meta-schema``
    the bundled document breaks the OpenAPI 3.0 schema or a rule of openapi-spec-validator.
``example``
    an example (media type, parameter, header or schema) that its schema rejects.
``link``
    a response link to an operationId no operation has, or with a parameter it does not take.
``operation``
    an operation without operationId, summary, description, a 403 response, or examples on
    each media type of its 2xx responses.
``operation-id``
    two operations with the same operationId.
``x-es-examples``, ``x-invalid``, ``x-http-status``, ``x-allow``, ``x-view-name``
    our vendor extensions, out of shape or naming a status, example or method the spec lacks
    (``x-allow`` lists each method of its path, OPTIONS among them, exactly once).
``component-name`` (a warning)
    two definitions of one kind with the same name in different files: the bundle keeps the
    first name under ``components/`` and names the other after its file too.
``spectral:<rule>``, ``redocly:<rule>``
    with ``external=True``, what Spectral and Redocly report on the bundle (the form
    ``esdc-api bundle`` writes and the reference server serves).
"""

from __future__ import annotations

import difflib
import functools
import json
import re
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import UnknownType
from openapi_schema_validator import OAS30Validator, oas30_format_checker
from referencing.exceptions import Unresolvable

from esdc_api import bundler, external_lint, metaschema, sourcemap
from esdc_api.errors import SpecError
from esdc_api.schema_errors import first_line, leaf_errors
from esdc_api.sourcemap import Key, Origin, SourceMap

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
#: The formats an example is checked for; each needs its checker installed (a test makes sure).
FORMATS = ("date", "date-time", "uri")

Node = Any


@dataclass(frozen=True)
class Problem:
    """One defect: where it is, the rule it breaks, and what is wrong."""

    where: Origin
    rule: str
    message: str
    severity: str = "error"

    def __str__(self) -> str:
        label = "" if self.severity == "error" else f"{self.severity}: "
        return f"{self.where}: {label}[{self.rule}] {self.message}"


@dataclass
class Report:
    """What :func:`lint` found in the spec whose root file is ``root``."""

    root: Path
    problems: list[Problem]
    files: int
    operations: int
    examples: int
    #: What was not checked, and why.
    notes: list[str] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        return [problem for problem in self.problems if problem.severity == "error"]

    def summary(self) -> str:
        checked = ", ".join(
            [
                _count(self.files, "file"),
                _count(self.operations, "operation"),
                _count(self.examples, "example"),
            ]
        )
        shown = sourcemap.shown(self.root)
        if not self.errors:
            return f"{shown}: no errors ({checked})"
        files = len({problem.where.file for problem in self.errors})
        return (
            f"{shown}: {_count(len(self.errors), 'error')} in {_count(files, 'file')} ({checked})"
        )


def lint(root: Path | str, external: bool = False) -> Report:
    """Check the spec at ``root``; with ``external``, also run Spectral and Redocly on its bundle.

    :raises FileNotFoundError: if ``root`` does not exist.
    :raises esdc_api.external_lint.MissingTools: with ``external``, if Spectral or Redocly is
        not installed (before anything is checked).
    :raises esdc_api.errors.ExternalToolError: if Spectral or Redocly cannot be run.
    """
    if external:
        external_lint.require(external_lint.TOOLS)
    source = sourcemap.load(root)
    checker = _Checker(source)
    for error in source.ref_errors:
        checker.report(error.origin, "ref", error.message)
    unreadable = source.document is None and source.ref_errors
    if not unreadable:
        checker.run()
    if external and source.ref_errors:
        checker.notes.append("spectral and redocly skipped: fix the $refs first, then bundle")
    elif external:
        checker.run_external_tools()
    return Report(
        root=source.root,
        problems=checker.problems,
        files=len(source.files),
        operations=len(checker.operations),
        examples=checker.examples_checked,
        notes=checker.notes,
    )


@dataclass(frozen=True)
class _Operation:
    path: str
    method: str
    item: dict[str, Any]
    node: dict[str, Any]

    def __str__(self) -> str:
        return f"{self.method.upper()} {self.path}"

    def parameters(self) -> list[dict[str, Any]]:
        """The parameters of the operation, with those of its path item it does not override."""
        own = [p for p in _list(self.node.get("parameters")) if isinstance(p, dict)]
        taken = {(p.get("in"), p.get("name")) for p in own}
        inherited = [p for p in _list(self.item.get("parameters")) if isinstance(p, dict)]
        return own + [p for p in inherited if (p.get("in"), p.get("name")) not in taken]

    def documents(self, status: object) -> bool:
        responses = _mapping(self.node.get("responses"))
        return str(status) in responses or f"{str(status)[:1]}XX" in responses


@dataclass
class _Checker:
    source: SourceMap
    problems: list[Problem] = field(default_factory=list)
    examples_checked: int = 0
    notes: list[str] = field(default_factory=list)
    _validators: dict[int, OAS30Validator] = field(default_factory=dict)
    _seen: set[tuple[int, tuple[Key, ...], int]] = field(default_factory=set)

    def __post_init__(self) -> None:
        # The checks below need the document to be a mapping; the meta-schema says if it is not.
        document = self.source.document
        self.document: dict[str, Any] = document if isinstance(document, dict) else {}
        self.operations = [
            _Operation(path, method, item, item[method])
            for path, item in _mapping(self.document.get("paths")).items()
            if isinstance(item, dict)
            for method in METHODS
            if isinstance(item.get(method), dict)
        ]

    def report(self, where: Origin, rule: str, message: str, severity: str = "error") -> None:
        # One problem per place and rule: a value that breaks two schemas is one defect.
        if not any(p.where == where and p.rule == rule for p in self.problems):
            self.problems.append(Problem(where, rule, message, severity))

    def at(self, node: Node, *keys: Key) -> Origin:
        return self.source.locate(keys, start=node)

    def run(self) -> None:
        for where, message in metaschema.check(self.source):
            self.report(where, "meta-schema", message)
        self.check_operations()
        self.check_operation_ids()
        self.check_links()
        self.check_examples()
        self.check_es_examples()
        self.check_invalid_parameters()
        self.check_http_status_tables()
        self.check_path_extensions()
        self.check_component_names()

    # -- path items ---------------------------------------------------------------------------

    def check_path_extensions(self) -> None:
        for path, item in _mapping(self.document.get("paths")).items():
            if not isinstance(item, dict):
                continue
            if "x-view-name" in item and not (
                isinstance(item["x-view-name"], str) and item["x-view-name"].strip()
            ):
                self.report(
                    self.at(item, "x-view-name"),
                    "x-view-name",
                    f"x-view-name of {path} must be the view's name, a non-empty string",
                )
            if "x-allow" in item:
                self._check_allow(path, item)

    def _check_allow(self, path: str, item: dict[str, Any]) -> None:
        allow = item["x-allow"]
        methods = {m.upper() for m in METHODS if isinstance(item.get(m), dict)} | {"OPTIONS"}
        listed = [str(m).upper() for m in allow] if isinstance(allow, list) else None
        if listed is None or len(listed) != len(set(listed)) or set(listed) != methods:
            self.report(
                self.at(item, "x-allow"),
                "x-allow",
                f"x-allow of {path} must list {', '.join(sorted(methods))} once each, in the "
                f"order real deployments send them; it lists {allow!r}",
            )

    # -- operations -------------------------------------------------------------------------

    def check_operations(self) -> None:
        for op in self.operations:
            for member in ("operationId", "summary", "description"):
                if not op.node.get(member):
                    self.report(
                        self.at(op.node, member),
                        "operation",
                        f"{op} has no {member}; add one",
                    )
            if not op.documents(HTTPStatus.FORBIDDEN.value):
                self.report(
                    self.at(op.node, "responses", "403"),
                    "operation",
                    f"{op} documents no 403 response; every call can get one (bad credentials)",
                )
            for status, response in _mapping(op.node.get("responses")).items():
                if not str(status).startswith("2"):
                    continue
                for media_type, content in _mapping(_mapping(response).get("content")).items():
                    content = _mapping(content)
                    if "example" not in content and not _mapping(content.get("examples")):
                        self.report(
                            self.at(content, "examples"),
                            "operation",
                            f"{op} {status} {media_type!r} has no example; add `examples:`",
                        )

    def check_operation_ids(self) -> None:
        first: dict[str, _Operation] = {}
        for op in self.operations:
            operation_id = op.node.get("operationId")
            if not isinstance(operation_id, str):
                continue
            if operation_id in first:
                other = first[operation_id]
                self.report(
                    self.at(op.node, "operationId"),
                    "operation-id",
                    f"operationId {operation_id!r} of {op} is also that of {other} "
                    f"({self.at(other.node, 'operationId')}); make each one unique",
                )
            first.setdefault(operation_id, op)

    # -- links ------------------------------------------------------------------------------

    def check_links(self) -> None:
        by_id = {op.node["operationId"]: op for op in self.operations if op.node.get("operationId")}
        for op in self.operations:
            for status, response in _mapping(op.node.get("responses")).items():
                for name, link in _mapping(_mapping(response).get("links")).items():
                    if isinstance(link, dict) and "operationId" in link:
                        self._check_link(f"link {name!r} of {op} {status}", link, by_id)

    def _check_link(self, label: str, link: dict[str, Any], by_id: dict[str, _Operation]) -> None:
        target_id = link["operationId"]
        target = by_id.get(str(target_id))
        if target is None:
            self.report(
                self.at(link, "operationId"),
                "link",
                f"{label} names operationId {target_id!r}, which no operation has; "
                f"{_did_you_mean(str(target_id), by_id)}",
            )
            return
        taken = {(p.get("in"), p.get("name")) for p in target.parameters()}
        for key in _mapping(link.get("parameters")):
            place, _, name = str(key).rpartition(".")
            known = (place, name) in taken if place else any(n == name for _, n in taken)
            if not known:
                names = [f"{p_in}.{p_name}" for p_in, p_name in sorted(taken, key=str)]
                self.report(
                    self.at(link, "parameters", key),
                    "link",
                    f"{label} passes parameter {key!r}, which {target_id} ({target}) does not "
                    f"take; it takes {', '.join(names) or 'no parameters'}",
                )

    # -- examples ---------------------------------------------------------------------------

    def check_examples(self) -> None:
        for holder, schema in self._example_holders():
            if "example" in holder:
                self._check_example(holder, ("example",), schema)
            for name, example in _mapping(holder.get("examples")).items():
                if isinstance(example, dict) and "value" in example:
                    self._check_example(holder, ("examples", name, "value"), schema)
        for schema in self._schemas():
            if "example" in schema:
                self._check_example(schema, ("example",), schema)

    def _example_holders(self) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
        """Parameters, headers and media types, each with the schema its examples must match."""
        for holder in self._schema_holders():
            if isinstance(holder.get("schema"), dict):
                yield holder, holder["schema"]
            for content in _mapping(holder.get("content")).values():
                if isinstance(content, dict) and isinstance(content.get("schema"), dict):
                    yield content, content["schema"]

    def _check_example(self, holder: dict[str, Any], keys: tuple[Key, ...], schema: Node) -> None:
        # Holders and schemas are shared where the sources share them: check each pair once.
        seen = (id(holder), keys, id(schema))
        if seen in self._seen:
            return
        self._seen.add(seen)
        self.examples_checked += 1
        value: Any = holder
        for key in keys:
            value = value[key]
        try:
            errors = list(self._validator(schema).iter_errors(value))
        except (Unresolvable, UnknownType, re.error):
            return  # a broken schema (a $ref left, `type: strng`): reported by `ref`, `meta-schema`
        for error in errors:
            for leaf in leaf_errors(error):
                rule_at = self.source.origin(leaf.schema)
                expected = f" (schema {rule_at.child(str(leaf.validator))})" if rule_at else ""
                self.report(
                    self.at(holder, *keys, *leaf.absolute_path),
                    "example",
                    f"{first_line(leaf.message)}{expected}",
                )

    def _validator(self, schema: Node) -> OAS30Validator:
        if id(schema) not in self._validators:
            checker = format_checker()
            self._validators[id(schema)] = OAS30Validator(schema, format_checker=checker)
        return self._validators[id(schema)]

    def _schema_holders(self) -> Iterator[dict[str, Any]]:
        """Parameters, headers, request bodies and responses, each once."""
        components = _mapping(self.document.get("components"))
        groups: list[Iterable[Any]] = [
            _mapping(components.get(kind)).values()
            for kind in ("parameters", "headers", "requestBodies", "responses")
        ]
        for op in self.operations:
            groups.append(op.parameters())
            groups.append([op.node.get("requestBody")])
            for response in _mapping(op.node.get("responses")).values():
                groups.append([response])
                groups.append(_mapping(_mapping(response).get("headers")).values())
        seen: set[int] = set()
        for group in groups:
            for holder in group:
                if isinstance(holder, dict) and id(holder) not in seen:
                    seen.add(id(holder))
                    yield holder

    def _schemas(self) -> Iterator[dict[str, Any]]:
        """Every schema of the document and every schema inside one, each once."""
        roots: list[Any] = list(
            _mapping(_mapping(self.document.get("components")).get("schemas")).values()
        )
        for holder in self._schema_holders():
            roots.append(holder.get("schema"))
            roots.extend(
                _mapping(c).get("schema") for c in _mapping(holder.get("content")).values()
            )
        seen: set[int] = set()
        while roots:
            schema = roots.pop()
            if not isinstance(schema, dict) or id(schema) in seen:
                continue
            seen.add(id(schema))
            yield schema
            roots.extend(_mapping(schema.get("properties")).values())
            roots.extend(schema.get(key) for key in ("items", "additionalProperties", "not"))
            for key in ("allOf", "anyOf", "oneOf"):
                roots.extend(_list(schema.get(key)))

    # -- vendor extensions ------------------------------------------------------------------

    def check_es_examples(self) -> None:
        shape = Draft202012Validator(_ES_EXAMPLE_SCHEMA)
        for op in self.operations:
            entries = op.node.get("x-es-examples", [])
            if not isinstance(entries, list):
                self.report(self.at(op.node, "x-es-examples"), "x-es-examples", "must be a list")
                continue
            for index, entry in enumerate(entries):
                errors = list(shape.iter_errors(entry))
                for error in errors:
                    where = self.at(entries, index, *error.absolute_path)
                    self.report(where, "x-es-examples", first_line(error.message))
                if not errors:
                    self._check_es_example(op, entries, index)

    def _check_es_example(self, op: _Operation, entries: list[Any], index: int) -> None:
        entry = entries[index]
        status = entry["status"]
        responses = _mapping(op.node.get("responses"))
        if str(status) not in responses:
            self.report(
                self.at(entries, index, "status"),
                "x-es-examples",
                f"{entry['command']!r} expects status {status!r}, which {op} does not document; "
                f"it documents {', '.join(map(str, responses))}",
            )
        elif "example" in entry:
            names = [
                name
                for content in _mapping(_mapping(responses[str(status)]).get("content")).values()
                for name in _mapping(_mapping(content).get("examples"))
            ]
            if entry["example"] not in names:
                has = ", ".join(map(repr, names)) or "none"
                self.report(
                    self.at(entries, index, "example"),
                    "x-es-examples",
                    f"{entry['command']!r} shows example {entry['example']!r}, which the {status} "
                    f"response of {op} does not have; it has {has}",
                )

    def check_invalid_parameters(self) -> None:
        shape = Draft202012Validator(_X_INVALID_SCHEMA)
        for op in self.operations:
            for parameter in op.parameters():
                if "x-invalid" not in parameter:
                    continue
                invalid = parameter["x-invalid"]
                errors = list(shape.iter_errors(invalid))
                for error in errors:
                    where = self.at(parameter, "x-invalid", *error.absolute_path)
                    self.report(where, "x-invalid", first_line(error.message))
                if not errors and not op.documents(invalid["status"]):
                    self.report(
                        self.at(parameter, "x-invalid", "status"),
                        "x-invalid",
                        f"parameter {parameter.get('name')!r} answers an invalid value with "
                        f"{invalid['status']}, which {op} does not document; add that response",
                    )

    def check_http_status_tables(self) -> None:
        for schema in self._schemas():
            if schema.get("title") == "TaskState" and "x-http-status" not in schema:
                self.report(
                    self.at(schema, "x-http-status"),
                    "x-http-status",
                    "TaskState has no x-http-status; map each state to the HTTP status it gets",
                )
            if "x-http-status" in schema:
                self._check_http_status_table(schema)

    def _check_http_status_table(self, schema: dict[str, Any]) -> None:
        table = schema["x-http-status"]
        if not isinstance(table, dict):
            self.report(self.at(schema, "x-http-status"), "x-http-status", "must be a mapping")
            return
        states = _list(schema.get("enum"))
        for state in states:
            if state not in table:
                self.report(
                    self.at(schema, "x-http-status", str(state)),
                    "x-http-status",
                    f"state {state!r} has no HTTP status; map every value of the enum",
                )
        for state, status in table.items():
            if state not in states:
                self.report(
                    self.at(schema, "x-http-status", state),
                    "x-http-status",
                    f"maps {state!r}, which is not in the enum {states!r}; remove it",
                )
            elif not _is_status(status):
                self.report(
                    self.at(schema, "x-http-status", state),
                    "x-http-status",
                    f"state {state!r} maps to {status!r}; expected an HTTP status code (100-599)",
                )

    # -- Spectral and Redocly ---------------------------------------------------------------

    def run_external_tools(self) -> None:
        """Spectral and Redocly on the bundle, as ``esdc-api bundle`` writes it and the
        reference server serves it; each finding placed in its source file.

        :raises esdc_api.external_lint.MissingTools: if one of them is not installed.
        """
        external_lint.require(external_lint.TOOLS)
        bundled = bundler.bundle(self.source)
        with tempfile.TemporaryDirectory(prefix="esdc-api-lint-") as tmp:
            path = Path(tmp) / "openapi.json"
            path.write_text(json.dumps(bundled.document))
            for tool in external_lint.TOOLS:
                for finding in tool.run(path):
                    self.report(
                        bundled.locate(finding.path),
                        f"{tool.name}:{finding.rule}",
                        finding.message,
                        finding.severity,
                    )

    # -- the bundle -------------------------------------------------------------------------

    def check_component_names(self) -> None:
        """Two definitions of one kind with one name: the bundle had to rename one."""
        try:
            bundled = bundler.bundle(self.source)
        except SpecError:
            return  # what stops the bundle (a $ref to itself) is reported by the other checks
        for renamed in bundled.renamed:
            self.report(
                renamed.origin,
                "component-name",
                f"{renamed}; give one of them another name",
                "warning",
            )


_ES_EXAMPLE_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "required": ["command", "status"],
    "properties": {
        "command": {"type": "string", "minLength": 1},
        "user": {"type": "string", "minLength": 1},
        "status": {"type": "integer", "minimum": 100, "maximum": 599},
        "example": {"type": "string", "minLength": 1},
    },
    "additionalProperties": False,
}
_X_INVALID_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "required": ["status", "detail"],
    "properties": {
        "status": {"type": "integer", "minimum": 100, "maximum": 599},
        "detail": {"type": "string"},
    },
    "additionalProperties": False,
}


@functools.cache
def format_checker() -> FormatChecker:
    """The OpenAPI 3.0 formats (int32, byte, ...) and those of JSON Schema, ``FORMATS`` included.

    :raises RuntimeError: if a format of ``FORMATS`` has no checker installed.
    """
    checker = FormatChecker()  # every format jsonschema can check with what is installed
    checker.checkers.update(oas30_format_checker.checkers)
    missing = [name for name in FORMATS if name not in checker.checkers]
    if missing:
        raise RuntimeError(
            f"cannot check the formats {missing!r}: install rfc3339-validator (date-time) and "
            "rfc3986-validator (uri), as pyproject.toml asks"
        )
    return checker


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _is_status(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 100 <= value <= 599


def _did_you_mean(name: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(choices), n=1)
    if close:
        return f"did you mean {close[0]!r}?"
    return f"use one of {', '.join(map(repr, sorted(choices)))}"


def _mapping(node: object) -> Mapping[str, Any]:
    return node if isinstance(node, dict) else {}


def _list(node: object) -> list[Any]:
    return node if isinstance(node, list) else []
