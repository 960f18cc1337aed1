"""Which operation of the spec a recorded request is for, read from the spec's paths alone.

The API lives under ``/api``, and every path also under the datacenter prefix the spec names
(``x-esdc-dc-prefix``, ``/dc/{dc}``). A path parameter matches its ``x-url-pattern`` or one
segment; literal paths (``/task/log/``) win over templated ones (``/task/{task_id}/``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from esdc_api.deviations import Request
from esdc_api.spec import Spec

API_BASE = "/api"
METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


@dataclass(frozen=True)
class Route:
    """A path of the spec, and the operation a method has there (``None`` when it has none)."""

    template: str
    operation: Mapping[str, Any] | None

    @property
    def operation_id(self) -> str | None:
        return None if self.operation is None else str(self.operation["operationId"])


class Routes:
    """The spec's paths, matched against request paths as sent."""

    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        prefix = str(spec.get("x-esdc-dc-prefix", "/dc/{dc}"))
        self._prefix = re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(prefix)))
        patterns = []
        for template, item in spec.get("paths", {}).items():
            params: dict[str, Any] = {p["name"]: p for p in item.get("parameters", [])}
            for method in METHODS:
                for param in item.get(method, {}).get("parameters", []):
                    params.setdefault(param["name"], param)
            regex = ""
            for literal, name in re.findall(r"([^{]*)(?:\{([^}]+)\})?", template):
                regex += re.escape(literal)
                if name:
                    regex += f"(?:{params.get(name, {}).get('x-url-pattern', '[^/]+')})"
            patterns.append((template, re.compile(f"^{regex}$")))
        patterns.sort(key=lambda entry: "{" in entry[0])
        self._patterns = patterns

    def match(self, method: str, path: str) -> Route | None:
        """The route of a decoded path from ``/api`` on, or ``None`` when no path matches."""
        if not path.startswith(API_BASE + "/"):
            return None
        rest = path[len(API_BASE) :]
        rest = self._prefix.sub("", rest, count=1) if self._prefix.match(rest) else rest
        for template, pattern in self._patterns:
            if pattern.match(rest):
                operation = self.spec["paths"][template].get(method.lower())
                return Route(template, operation)
        return None

    def request(
        self, method: str, target: str, headers: Mapping[str, str], body: str | None, kind: str
    ) -> tuple[Request, Route | None]:
        """The request as :mod:`esdc_api.deviations` describes it, and its route."""
        url = urlsplit(target)
        path = unquote(url.path)
        route = self.match(method, path)
        return (
            Request(
                method=method,
                path=path,
                operation_id=None if route is None else route.operation_id,
                query=parse_qsl(url.query, keep_blank_values=True),
                headers={name.lower(): value for name, value in headers.items()},
                body=body,
                credentials=kind,
            ),
            route,
        )
