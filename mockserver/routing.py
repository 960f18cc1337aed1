"""Which endpoint a URL names, decided as real deployments decide it, before anything else.

Real deployments resolve the URL first: a path no endpoint matches is a plain-text 404, and a
path that only lacks its trailing slash is redirected, whoever asks. Only then do content
negotiation, authentication and the method check run. This router answers those first
questions from the spec's paths, and its answer is the one the operation is called with. What
an endpoint tells about itself comes from its path item too: its ``Allow`` header
(``x-allow``, in real deployments' order) and what OPTIONS answers (:mod:`mockserver.options`).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from mockserver.options import metadata

METHODS = ("get", "put", "post", "delete", "patch")


@dataclass(frozen=True)
class Endpoint:
    """One path of the spec and what it offers."""

    template: str
    methods: tuple[str, ...]  # upper case, in spec order
    public_methods: frozenset[str]  # methods whose operation needs no credentials
    allow: str  # the Allow header
    options: dict[str, Any] = field(repr=False)  # what OPTIONS answers
    pattern: re.Pattern[str] = field(repr=False)

    def needs_credentials(self, method: str) -> bool:
        if method in self.methods:
            return method not in self.public_methods
        return not self.public_methods  # a wrong method on a public path is judged anonymously


def _segment_pattern(param: dict[str, Any]) -> str:
    pattern: str = param.get("x-url-pattern", "[^/]+")
    return pattern


def _compile(template: str, params: dict[str, dict[str, Any]]) -> re.Pattern[str]:
    regex = ""
    for literal, name in re.findall(r"([^{]*)(?:\{([^}]+)\})?", template):
        regex += re.escape(literal)
        if name:
            regex += f"(?P<{name}>{_segment_pattern(params.get(name, {}))})"
    return re.compile(f"^{regex}$")


def _allow(item: dict[str, Any], methods: list[str]) -> str:
    """The path item's ``x-allow``; without one, its methods and OPTIONS."""
    allow = item.get("x-allow") or [*methods, "OPTIONS"]
    return ", ".join(str(m).upper() for m in allow)


def _first_match(
    endpoints: Sequence[Endpoint], path: str
) -> tuple[Endpoint, dict[str, str]] | None:
    for endpoint in endpoints:
        found = endpoint.pattern.match(path)
        if found:
            return endpoint, found.groupdict()
    return None


class Router:
    """The spec's paths under a base path, literal paths before templated ones."""

    def __init__(self, spec: dict[str, Any], base_path: str) -> None:
        self.base_path = base_path.rstrip("/")
        endpoints = []
        for template, item in spec["paths"].items():
            ops = {m: item[m] for m in METHODS if m in item}
            params = {p["name"]: p for p in item.get("parameters", [])}
            for op in ops.values():
                params.update({p["name"]: p for p in op.get("parameters", [])})
            methods = [m.upper() for m in ops]
            endpoints.append(
                Endpoint(
                    template=template,
                    methods=tuple(methods),
                    public_methods=frozenset(
                        m.upper() for m, op in ops.items() if op.get("security") == []
                    ),
                    allow=_allow(item, methods),
                    options=metadata(template, item),
                    pattern=_compile(self.base_path + template, params),
                )
            )
        endpoints.sort(key=lambda e: "{" in e.template)
        self.endpoints = endpoints
        #: The last paths resolved (a client polls a few; a path's answer never changes).
        self._known = functools.lru_cache(maxsize=1024)(
            functools.partial(_first_match, tuple(endpoints))
        )

    def match(self, path: str) -> Endpoint | None:
        resolved = self.resolve(path)
        return None if resolved is None else resolved[0]

    def resolve(self, path: str) -> tuple[Endpoint, dict[str, str]] | None:
        """The endpoint ``path`` names and the values of its path parameters (a new dict
        each time: the caller may change it)."""
        known = self._known(path) if len(path) <= 512 else _first_match(self.endpoints, path)
        return None if known is None else (known[0], dict(known[1]))

    def owns(self, path: str) -> bool:
        """Whether ``path`` lies under the base path (the API's namespace)."""
        return path == self.base_path or path.startswith(self.base_path + "/")
