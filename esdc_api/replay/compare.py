"""Comparing a server's answer with the recorded one: status, the headers that matter, body.

- **Status**: equal.
- **Headers**: those in :data:`COMPARED_HEADERS` and every ``Access-Control-*`` one. Present
  in one answer and not in the other is a difference; so is another value.
- **Body**: when the recorded body is JSON, both are parsed and compared as JSON values
  (``true`` is not ``1``; ``1`` is ``1.0``); otherwise byte for byte. An array whose schema
  in the spec says ``x-unordered: true`` compares as a multiset.

Before comparing, both answers' volatile values become :class:`~.normalize.Volatile`; nothing
else is normalized. A difference is named by the field a deviation of the spec would name in
its ``differs``: ``status``, ``header:<Name>``, ``body`` (the whole body), a JSON pointer into
it (``/0/detail``), or ``order`` (a top-level array with the same items in another order).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from esdc_api.replay.answer import NOT_JSON, Answer
from esdc_api.replay.normalize import Normalizer, Volatile

COMPARED_HEADERS = (
    "es_version",
    "es_username",
    "es_dc",
    "es_task_response",
    "Allow",
    "Content-Type",
    "Location",
    "Retry-After",
    "Vary",
    "Content-Language",
)
CORS_PREFIX = "access-control-"


class _Absent:
    def __repr__(self) -> str:
        return "(absent)"


#: The value of a header or a member that one answer has and the other has not.
ABSENT: Any = _Absent()


@dataclass(frozen=True)
class Difference:
    """One place where the answers differ: ``real`` is the recorded value, ``ours`` the server's."""

    field: str
    real: Any
    ours: Any

    def __str__(self) -> str:
        return f"{self.field}: real {_show(self.real)}, ours {_show(self.ours)}"

    def as_json(self) -> dict[str, Any]:
        found: dict[str, Any] = {"field": self.field}
        for key, value in (("real", self.real), ("ours", self.ours)):
            if value is not ABSENT:
                found[key] = _plain(value)
        return found


def _plain(value: Any) -> Any:
    if isinstance(value, Volatile):
        return value.text
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _show(value: Any, limit: int = 160) -> str:
    if value is ABSENT:
        return "(absent)"
    text = json.dumps(_plain(value), ensure_ascii=False) if not isinstance(value, bytes) else ""
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass
class Comparison:
    """The differences between two answers, in the order status, headers, body."""

    differences: list[Difference] = field(default_factory=list)
    #: an array the spec calls unordered held the same items in another order
    reordered: bool = False

    @property
    def identical(self) -> bool:
        return not self.differences


def compare(
    real: Answer, ours: Answer, normalizer: Normalizer, schema: Mapping[str, Any] | None = None
) -> Comparison:
    """Compare ``ours`` with the recorded ``real`` answer.

    :param schema: the spec's schema of the recorded answer's body, for ``x-unordered``.
    """
    comparison = Comparison()
    found = comparison.differences
    if real.status != ours.status:
        found.append(Difference("status", real.status, ours.status))
    found += _headers(real, ours, normalizer)
    expected = real.json()
    if expected is NOT_JSON:
        if real.body != ours.body:
            found.append(Difference("body", real.text(), ours.text()))
        return comparison
    got = ours.json()
    if got is NOT_JSON:
        found.append(Difference("body", expected, ours.text()))
        return comparison
    walk = _Walk(comparison)
    walk.value(normalizer.body(expected), normalizer.body(got), "", schema)
    return comparison


def _headers(real: Answer, ours: Answer, normalizer: Normalizer) -> list[Difference]:
    cors = sorted(n for n in real.header_names() | ours.header_names() if n.startswith(CORS_PREFIX))
    found = []
    for name in (*COMPARED_HEADERS, *cors):
        expected, got = real.header(name), ours.header(name)
        if expected is None and got is None:
            continue
        if expected is None or got is None:
            found.append(
                Difference(
                    f"header:{name}",
                    ABSENT if expected is None else expected,
                    ABSENT if got is None else got,
                )  # fmt: skip
            )
            continue
        if not _same(normalizer.header(name, expected), normalizer.header(name, got)):
            found.append(Difference(f"header:{name}", expected, got))
    return found


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, Volatile):
        return a.matches(b)
    if isinstance(b, Volatile):
        return False
    return bool(a == b)


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, Volatile):
        return "volatile"
    return type(value).__name__


def _subschema(schema: Mapping[str, Any] | None, key: str | int) -> Mapping[str, Any] | None:
    if not isinstance(schema, Mapping):
        return None
    if isinstance(key, int):
        items = schema.get("items")
        if isinstance(items, Mapping):
            return items
    else:
        properties = schema.get("properties", {})
        if key in properties:
            return properties[key]  # type: ignore[no-any-return]
        extra = schema.get("additionalProperties")
        if isinstance(extra, Mapping):
            return extra
    for combined in ("allOf", "anyOf", "oneOf"):
        for part in schema.get(combined, []):
            found = _subschema(part, key)
            if found is not None:
                return found
    return None


def _unordered(schema: Mapping[str, Any] | None) -> bool:
    if not isinstance(schema, Mapping):
        return False
    if schema.get("x-unordered") is True:
        return True
    return any(_unordered(part) for c in ("allOf", "anyOf", "oneOf") for part in schema.get(c, []))


class _Walk:
    """Compares two normalized JSON values, adding a difference per place they part."""

    def __init__(self, comparison: Comparison) -> None:
        self.comparison = comparison

    def add(self, pointer: str, real: Any, ours: Any) -> None:
        self.comparison.differences.append(Difference(pointer or "body", real, ours))

    def value(self, real: Any, ours: Any, pointer: str, schema: Mapping[str, Any] | None) -> None:
        if isinstance(real, Volatile) or isinstance(ours, Volatile):
            if not _same(real, ours):
                self.add(pointer, real, ours)
        elif _kind(real) != _kind(ours):
            self.add(pointer, real, ours)
        elif isinstance(real, dict):
            self.members(real, ours, pointer, schema)
        elif isinstance(real, list):
            self.items(real, ours, pointer, schema)
        elif real != ours:
            self.add(pointer, real, ours)

    def members(
        self, real: dict[str, Any], ours: dict[str, Any], pointer: str, schema: Any
    ) -> None:
        for key in [*real, *(k for k in ours if k not in real)]:
            here = f"{pointer}/{_escape(key)}"
            if key not in ours:
                self.add(here, real[key], ABSENT)
            elif key not in real:
                self.add(here, ABSENT, ours[key])
            else:
                self.value(real[key], ours[key], here, _subschema(schema, key))

    def items(self, real: list[Any], ours: list[Any], pointer: str, schema: Any) -> None:
        item_schema = _subschema(schema, 0)
        if len(real) == len(ours):
            probes = [_probe(r, o, item_schema) for r, o in zip(real, ours, strict=True)]
            if all(p.identical for p in probes):
                self.comparison.reordered |= any(p.reordered for p in probes)
                return
        if _same_items(real, ours, item_schema):
            if _unordered(schema):
                self.comparison.reordered = True
            else:  # the same items in another order
                self.comparison.differences.append(Difference(pointer or "order", real, ours))
            return
        if _unordered(schema):
            self.add(pointer, real, ours)
            return
        for index in range(max(len(real), len(ours))):
            here = f"{pointer}/{index}"
            if index >= len(ours):
                self.add(here, real[index], ABSENT)
            elif index >= len(real):
                self.add(here, ABSENT, ours[index])
            else:
                self.value(real[index], ours[index], here, item_schema)


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def _probe(real: Any, ours: Any, schema: Any) -> Comparison:
    probe = Comparison()
    _Walk(probe).value(real, ours, "", schema)
    return probe


def _same_items(real: list[Any], ours: list[Any], schema: Any) -> bool:
    """Whether the two arrays hold the same items, each as often, in any order."""
    if len(real) != len(ours):
        return False
    left = list(ours)
    for item in real:
        for index, candidate in enumerate(left):
            if _probe(item, candidate, schema).identical:
                del left[index]
                break
        else:
            return False
    return True
