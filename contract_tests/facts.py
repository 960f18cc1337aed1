"""What the suite knows about the API, read from the spec rather than retyped.

Every expectation the named checks hold a deployment to (the state → HTTP status table, the
answer a malformed id gets, the page size, the error messages) comes from the bundled spec, so
that a change to the spec changes what the suite expects.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

Spec = dict[str, Any]

#: How long a finished task's result is kept, after which it reads PENDING again. The spec
#: says so in prose only (info.description, TaskState.description), so it is a constant here.
RESULT_EXPIRES_SECONDS = 3600
FINAL_STATES = frozenset({"SUCCESS", "FAILURE", "REVOKED"})
#: The parts of a well-formed task id (the spec's TaskId pattern says which ids are).
TASK_ID_PARTS = re.compile(
    r"^(?P<prefix>(?P<creator>\d+)(?P<type>[a-z])(?P<owner>\d+)(?P<group>[a-z])(?P<dc>\d+))"
    r"-(?P<first>[0-9A-Za-z]{8})-"
)


def dummy_group(creator: str) -> str:
    """The first 8-hex group of a dummy id of ``creator`` (the user id as the id spells it)."""
    return hashlib.md5(creator.encode()).hexdigest()[-8:]


@dataclass(frozen=True)
class Invalid:
    """The answer the spec prescribes for an invalid value of one parameter (``x-invalid``)."""

    status: int
    detail: str


@dataclass(frozen=True)
class Operation:
    method: str  # upper case
    path: str  # as in the spec, e.g. /task/{task_id}/status/
    operation_id: str
    permission: str | None
    definition: dict[str, Any]

    @property
    def label(self) -> str:
        """Schemathesis's name for the operation, e.g. ``GET /task/``."""
        return f"{self.method} {self.path}"

    @property
    def is_public(self) -> bool:
        return self.definition.get("security") == []


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


class SpecFacts:
    """Facts of the bundled task API spec, looked up once.

    :param spec: the bundled spec, as :func:`esdc_api.spec.load_spec` returns it.
    """

    def __init__(self, spec: Spec) -> None:
        self.spec = spec

    def __repr__(self) -> str:
        return f"SpecFacts(version={self.spec['info']['version']!r})"

    # -- operations -----------------------------------------------------------------------

    @cached_property
    def operations(self) -> dict[str, Operation]:
        """Every operation by operationId."""
        found = {}
        for path, item in self.spec["paths"].items():
            for method in ("get", "put", "post", "delete", "patch", "options"):
                if method in item:
                    op = item[method]
                    found[op["operationId"]] = Operation(
                        method.upper(), path, op["operationId"], op.get("x-permission"), op
                    )
        return found

    def operation(self, operation_id: str) -> Operation:
        return self.operations[operation_id]

    @cached_property
    def _routes(self) -> list[tuple[re.Pattern[str], Operation]]:
        routes = []
        for op in self.operations.values():
            shared = self.spec["paths"][op.path].get("parameters", [])
            params = {p["name"]: p for p in [*shared, *op.definition.get("parameters", [])]}
            regex = ""
            for literal, name in re.findall(r"([^{]*)(?:\{([^}]+)\})?", op.path):
                regex += re.escape(literal)
                if name:
                    regex += f"(?P<{name}>{params.get(name, {}).get('x-url-pattern', '[^/]+')})"
            routes.append((re.compile(f"^{regex}$"), op))
        # literal paths (/task/log/) before templated ones (/task/{task_id}/)
        routes.sort(key=lambda route: "{" in route[1].path)
        return routes

    def route(self, method: str, path: str) -> tuple[Operation, dict[str, str]] | None:
        """The operation a request reaches, and its path parameters.

        :param path: the URL path, with the base path and an optional ``/dc/<name>`` prefix.
        """
        if path.startswith(self.base_path):
            path = path[len(self.base_path) :]
        path = re.sub(r"^/dc/[A-Za-z0-9._-]+(?=/)", "", path)
        matched: str | None = None  # the first path that matches: literal ones come first
        for pattern, op in self._routes:
            match = pattern.match(path)
            if match and matched in (None, op.path):
                matched = op.path
                if op.method == method.upper():
                    return op, match.groupdict()
        return None  # no endpoint, or a method the endpoint does not have

    @cached_property
    def base_path(self) -> str:
        """The path every operation lives under (``/api``), from the first server."""
        return str(urlsplit(self.spec["servers"][0]["url"]).path).rstrip("/")

    def examples_of(self, operation_id: str) -> list[Any]:
        """The request examples of an operation: its parameters' and its body's."""
        definition = self.operation(operation_id).definition
        found: list[Any] = []
        for param in definition.get("parameters", []):
            if "example" in param:
                found.append(param["example"])
            found += list(param.get("examples", {}).values())
        for media in definition.get("requestBody", {}).get("content", {}).values():
            found += list(media.get("examples", {}).values())
        return found

    def example(self, operation_id: str, status: int, name: str) -> Any:
        """The value of a named response example, e.g. the text of an error."""
        response = self.operation(operation_id).definition["responses"][str(status)]
        for media in response["content"].values():
            if name in media.get("examples", {}):
                return media["examples"][name]["value"]
        raise KeyError(f"{operation_id} {status} has no example {name!r}")

    def detail(self, operation_id: str, status: int, name: str) -> str:
        """The ``detail`` of a named error example."""
        return str(self.example(operation_id, status, name)["detail"])

    # -- tasks ----------------------------------------------------------------------------

    @cached_property
    def state_http_status(self) -> dict[str, HTTPStatus]:
        """``TaskState.x-http-status``: the HTTP status of each task state."""
        for node in _walk(self.spec["paths"]):
            if node.get("title") == "TaskState" and "x-http-status" in node:
                return {state: HTTPStatus(code) for state, code in node["x-http-status"].items()}
        raise LookupError("the spec has no TaskState schema with x-http-status")

    @cached_property
    def states(self) -> tuple[str, ...]:
        return tuple(self.state_http_status)

    def states_with_status(self, status: int) -> frozenset[str]:
        """The states whose answers carry ``status`` (201: PENDING and STARTED)."""
        return frozenset(s for s, code in self.state_http_status.items() if code == status)

    def _task_id_parameter(self) -> dict[str, Any]:
        for param in self.spec["paths"]["/task/{task_id}/status/"]["parameters"]:
            if param["name"] == "task_id":
                return dict(param)
        raise LookupError("the spec's status path has no task_id parameter")

    @cached_property
    def task_id_pattern(self) -> re.Pattern[str]:
        return re.compile(self._task_id_parameter()["schema"]["pattern"])

    @cached_property
    def task_id_url_pattern(self) -> re.Pattern[str]:
        """What a URL segment holding a task id may contain (``x-url-pattern``)."""
        return re.compile(f"^(?:{self._task_id_parameter()['x-url-pattern']})$")

    def is_dummy(self, task_id: str) -> bool:
        """Whether a well-formed id is a dummy one: its first 8-hex group is the last 8 hex
        digits of the MD5 of its creator's user id (info: Task ids)."""
        match = TASK_ID_PARTS.match(task_id)
        return match is not None and match["first"].lower() == dummy_group(match["creator"])

    @cached_property
    def malformed_task_id(self) -> Invalid:
        """What a malformed task id gets (``x-invalid`` of ``task_id``)."""
        return Invalid(**self._task_id_parameter()["x-invalid"])

    @cached_property
    def not_routed_body(self) -> str:
        """The plain-text body of a URL that matches no endpoint."""
        for node in _walk(self.spec["paths"]):
            if node.get("title") == "NotRouted":
                return str(node["enum"][0])
        raise LookupError("the spec has no NotRouted schema")

    # -- the task log ---------------------------------------------------------------------

    def _log_shape(self, title: str) -> dict[str, Any]:
        schema = self.operation("taskLog").definition["responses"]["200"]["content"]
        for variant in schema["application/json"]["schema"]["oneOf"]:
            if variant.get("title") == title:
                return dict(variant)
        raise LookupError(f"the task log has no {title} shape")

    @cached_property
    def page_size(self) -> int:
        """Entries per page of the paged log (``TaskLogPage.results.maxItems``)."""
        return int(self._log_shape("TaskLogPage")["properties"]["results"]["maxItems"])

    @cached_property
    def last_size(self) -> int:
        """Entries of the cached log (``TaskLogLast.results.maxItems``)."""
        return int(self._log_shape("TaskLogLast")["properties"]["results"]["maxItems"])

    def log_parameter(self, name: str) -> dict[str, Any]:
        for param in self.operation("taskLog").definition["parameters"]:
            if param["name"] == name:
                return dict(param)
        raise LookupError(f"the task log has no parameter {name!r}")

    def parameter_invalid(self, operation_id: str, name: str) -> Invalid | None:
        params = self.operation(operation_id).definition.get("parameters", [])
        for param in params:
            if param["name"] == name and "x-invalid" in param:
                return Invalid(**param["x-invalid"])
        return None

    def enum(self, name: str) -> tuple[str, ...]:
        """The values a task log filter accepts (``status``, ``object_type``, ``order_by``)."""
        return tuple(self.log_parameter(name)["schema"]["enum"])

    # -- responses ------------------------------------------------------------------------

    def response(self, operation_id: str, status: int) -> dict[str, Any] | None:
        """The response the spec documents for ``status``, or ``None`` if it documents none."""
        responses = self.operation(operation_id).definition["responses"]
        found = responses.get(str(status)) or responses.get(f"{str(status)[0]}XX")
        return dict(found) if found is not None else None

    def response_schema(self, operation_id: str, status: int, media_type: str) -> Any:
        """The schema of a documented response's body in ``media_type``, or ``None``."""
        response = self.response(operation_id, status) or {}
        content = response.get("content", {})
        media = content.get(media_type.split(";")[0].strip())
        return None if media is None else media.get("schema")

    @cached_property
    def es_headers(self) -> tuple[str, ...]:
        """The ``es_*`` headers every answer of the API carries (those of ``GET /task/``)."""
        headers = self.operation("taskList").definition["responses"]["200"].get("headers", {})
        return tuple(name for name in headers if name.startswith("es_"))
