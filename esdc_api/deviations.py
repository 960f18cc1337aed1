"""Where real deployments and the reference server part, as the spec declares it.

The spec's root holds two lists, read here and nowhere else:

- ``x-known-defects``: answers a version of Danube Cloud gives that are bugs of that version
  (a 500 for a ``dc`` that is not ASCII, say). The spec describes the intended answer, the
  reference server gives it, and the contract suite reports a deployment's defect in a section
  of its own instead of as drift.
- ``x-deviations``: places where the reference server deliberately answers otherwise than real
  deployments, each with its reason (text of ours where theirs is prose, an order that real
  deployments leave to a hash seed, ...). The replay of the recorded real answers counts them
  as declared, the docs list them, and the contract suite does not fail a deployment for them.

Each entry says *when* it applies with a condition on the request (:class:`When`); the replay
and the contract suite describe a request as a :class:`Request` and ask :meth:`When.holds`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from esdc_api.errors import SpecError

#: Value predicates a condition may name (``value:``), each over the raw value as sent.
VALUE_PREDICATES = ("non-ascii", "nul", "container", "any")
#: Body predicates (``body:``).
BODY_PREDICATES = ("non-object-json",)
#: Accept predicates (``accept:``).
ACCEPT_PREDICATES = ("not-json",)
#: Credential predicates (``credentials:``).
CREDENTIAL_PREDICATES = ("invalid", "none")


@dataclass(frozen=True)
class Request:
    """A request as both the replay and the contract suite can describe it.

    :param operation_id: the spec operation the request is for, or ``None`` when none is
        (a URL no endpoint matches, a method the path lacks).
    :param path: the path as sent, from ``/api/`` on, without the query.
    :param query: the query parameters as sent, decoded, in order, repeats kept.
    :param body: the body text as sent, or ``None``.
    :param credentials: ``"valid"``, ``"invalid"`` or ``"none"``.
    """

    method: str
    path: str
    operation_id: str | None = None
    query: Sequence[tuple[str, str]] = ()
    headers: Mapping[str, str] = field(default_factory=dict)  # lower-case names
    body: str | None = None
    credentials: str = "valid"

    def json_body(self) -> Any:
        """The body's JSON value; ``None`` when there is none or it is not JSON."""
        if self.body is None:
            return None
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def values(self, name: str) -> list[Any]:
        """Every value sent for ``name``: query parameters, then the JSON body's field."""
        found: list[Any] = [value for key, value in self.query if key == name]
        body = self.json_body()
        if isinstance(body, dict) and name in body:
            found.append(body[name])
        return found


def _value_holds(predicate: str, value: Any) -> bool:
    if predicate == "any":
        return True
    if predicate == "container":
        return isinstance(value, list | dict)
    text = value if isinstance(value, str) else json.dumps(value)
    if predicate == "nul":
        return "\x00" in text
    if predicate == "non-ascii":
        return not text.isascii()
    raise AssertionError(predicate)


@dataclass(frozen=True)
class When:
    """A condition on a request; every key given must hold.

    Keys: ``operation`` (an operationId or a list of them), ``method``, ``path`` (a regular
    expression matched against the whole path), ``parameter`` with ``value`` (a value
    predicate that one of the parameter's values satisfies), ``also`` (parameters that must be
    present with a non-empty value), ``body``, ``accept``, ``credentials``.
    """

    raw: Mapping[str, Any]

    def holds(self, request: Request) -> bool:
        raw = self.raw
        operations = raw.get("operation")
        if operations is not None:
            names = [operations] if isinstance(operations, str) else list(operations)
            if request.operation_id not in names:
                return False
        if "method" in raw and request.method.upper() != str(raw["method"]).upper():
            return False
        if "path" in raw and re.fullmatch(str(raw["path"]), request.path) is None:
            return False
        if "parameter" in raw:
            predicate = str(raw.get("value", "any"))
            if not any(_value_holds(predicate, v) for v in request.values(raw["parameter"])):
                return False
        for name in raw.get("also", ()):
            if not any(v not in ("", None) for v in request.values(name)):
                return False
        if raw.get("body") == "non-object-json":
            body = request.json_body()
            if body is None or isinstance(body, dict):
                return False
        if raw.get("accept") == "not-json" and _accepts_json(request.headers.get("accept")):
            return False
        return not ("credentials" in raw and request.credentials != raw["credentials"])


def _accepts_json(accept: str | None) -> bool:
    """Whether an ``Accept`` header lets JSON through, as Danube Cloud reads it (``q`` is
    ignored)."""
    if accept is None or not accept.strip():
        return True
    for item in accept.split(","):
        media = item.split(";")[0].strip().lower()
        if media in ("*/*", "application/*", "application/json"):
            return True
    return False


@dataclass(frozen=True)
class KnownDefect:
    """A bug of some Danube Cloud versions: the answer they give, and when.

    :param real: what those versions answer: ``status``, and ``body`` / ``content-type``.
    """

    id: str
    versions: tuple[str, ...]
    summary: str
    cause: str
    when: When
    real: Mapping[str, Any]

    @property
    def real_status(self) -> int:
        return int(self.real["status"])

    def applies_to(self, version: str | None) -> bool:
        """Whether deployments of ``version`` have it; an unknown version might."""
        return version is None or version in self.versions

    def explains(self, request: Request, status: int) -> bool:
        """Whether an answer with ``status`` to ``request`` is this defect."""
        return status == self.real_status and self.when.holds(request)


@dataclass(frozen=True)
class Deviation:
    """A place where the reference server answers otherwise than real deployments, on purpose.

    :param differs: what may differ: ``status``, ``body`` (all of it), a JSON pointer into the
        body (``/description``), ``order`` (the order of a JSON array body), or a header name
        (``header:Content-Type``).
    """

    id: str
    summary: str
    reason: str
    when: When
    differs: tuple[str, ...]


def _entries(spec: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    entries = spec.get(key, [])
    if not isinstance(entries, list):
        raise SpecError(f"{key} must be a list of entries")
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict) or not isinstance(entry.get("when"), dict):
            raise SpecError(f"{key}[{index}] needs an 'id' and a 'when' condition")
        unknown = _unknown_predicates(entry["when"])
        if unknown:
            raise SpecError(f"{key}[{index}] ({entry.get('id')!r}): unknown {unknown}")
    return entries


def _unknown_predicates(when: Mapping[str, Any]) -> str | None:
    checks: Iterable[tuple[str, tuple[str, ...]]] = (
        ("value", VALUE_PREDICATES),
        ("body", BODY_PREDICATES),
        ("accept", ACCEPT_PREDICATES),
        ("credentials", CREDENTIAL_PREDICATES),
    )
    for key, allowed in checks:
        if key in when and when[key] not in allowed:
            return f"{key} {when[key]!r}; one of {', '.join(allowed)}"
    return None


def known_defects(spec: Mapping[str, Any]) -> list[KnownDefect]:
    """The spec's ``x-known-defects``."""
    return [
        KnownDefect(
            id=str(entry["id"]),
            versions=tuple(str(v) for v in entry.get("versions", ())),
            summary=str(entry.get("summary", "")).strip(),
            cause=str(entry.get("cause", "")).strip(),
            when=When(entry["when"]),
            real=dict(entry.get("real", {})),
        )
        for entry in _entries(spec, "x-known-defects")
    ]


def deviations(spec: Mapping[str, Any]) -> list[Deviation]:
    """The spec's ``x-deviations``."""
    return [
        Deviation(
            id=str(entry["id"]),
            summary=str(entry.get("summary", "")).strip(),
            reason=str(entry.get("reason", "")).strip(),
            when=When(entry["when"]),
            differs=tuple(str(d) for d in entry.get("differs", ("body",))),
        )
        for entry in _entries(spec, "x-deviations")
    ]


def defect_for(
    spec: Mapping[str, Any], request: Request, status: int, version: str | None = None
) -> KnownDefect | None:
    """The known defect an answer with ``status`` to ``request`` is, if any."""
    for defect in known_defects(spec):
        if defect.applies_to(version) and defect.explains(request, status):
            return defect
    return None
