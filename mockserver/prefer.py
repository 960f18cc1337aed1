"""Prism-compatible ``Prefer``: answer a request with one of its operation's documented answers.

A frontend developer who wants to see how the app takes a 410, a 429 or a 205 asks for it:
``Prefer: code=410``, ``Prefer: example=revoked`` (the spec's name of an example), or both
(``Prefer: code=201, example=started``); Prism's query forms ``?__code=410`` and
``?__example=revoked`` do the same where headers are awkward, and as in Prism a ``Prefer``
header, when sent, wins over them. The answer is the documented response: its status, the
example's body (the response's first example when none is named; without a code, the first
response that has an example of that name, lowest code first, where Prism looks in the lowest
2xx only), and its documented headers (``es_task_response``, ``Retry-After``) with their
documented values; the ``es_*`` headers are the caller's own, as the pipeline sets them for
every answer (``es_dc`` the datacenter the query or the ``/dc/{dc}/`` URL names, where the
caller may use it), and only where the response documents them; an example that names a task
names the request's (``task_id``). ``Preference-Applied`` (RFC 7240) says what was applied.

The URL, ``Accept``, the credentials, the throttle and the method are checked as always; the
forced answer then takes the place of everything after (the body, the datacenter, the
permission, the parameters and the handler), and changes nothing in the world. A code the
operation does not document, an unknown example name or a malformed preference gets 422
naming the choices: no operation of the task API answers 422, so it cannot pass for a real
answer. ``delay=MS`` (ours, not Prism's; also ``?__delay=MS``) holds the request that long on
the world's clock (:func:`mockserver.holds.hold`) before it is answered, forced or not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, urlencode

from mockserver.errors import ApiError

#: The query parameters Prism reads (and ours, ``__delay``); taken off before the operation.
QUERY_NAMES = ("__code", "__example", "__dynamic", "__seed", "__delay")
#: Headers the pipeline sets for every answer, with the caller's values.
PIPELINE_HEADERS = frozenset({"es_version", "es_username", "es_dc", "allow"})
_PART = re.compile(r'\s*([A-Za-z_][A-Za-z0-9_-]*)\s*(?:=\s*("(?:[^"\\]|\\.)*"|[^,;]*))?\s*')


class PreferError(ApiError):
    """A preference the server cannot meet; the message names what it can."""

    status = HTTPStatus.UNPROCESSABLE_ENTITY


@dataclass(frozen=True)
class Preference:
    """What a request asked for; ``text`` is how, for the journal."""

    code: int | None = None
    example: str | None = None
    delay_ms: float = 0.0
    text: str = ""

    @property
    def forced(self) -> bool:
        return self.code is not None or self.example is not None


def _parts(header: str) -> dict[str, str]:
    """The ``name=value`` preferences of a ``Prefer`` header (commas or semicolons between
    them, values quoted or not)."""
    found: dict[str, str] = {}
    for chunk in re.split(r"[,;]", header):
        match = _PART.fullmatch(chunk)
        if match and match.group(1):
            value = match.group(2) or ""
            if value.startswith('"') and value.endswith('"') and len(value) >= 2:
                value = value[1:-1].replace('\\"', '"')
            found.setdefault(match.group(1).lower(), value.strip())
    return found


def parse(header: str | None, query_string: bytes) -> Preference | None:
    """The preference of a request, from its ``Prefer`` header or else from its query; ``None``
    when it asks for nothing of ours (a ``Prefer: return=minimal`` asks for nothing here).

    :raises PreferError: for a code that is not three digits or a delay that is no number.
    """
    if header is not None:
        parts, where = _parts(header), "Prefer: "
    else:
        query = dict(parse_qsl(query_string.decode("latin-1"), keep_blank_values=True))
        parts = {name[2:]: value for name, value in query.items() if name in QUERY_NAMES}
        where = "?__"
    wanted = {name: parts[name] for name in ("code", "example", "delay") if name in parts}
    if not wanted:
        return None
    code = wanted.get("code")
    if code is not None and not re.fullmatch(r"[1-5][0-9]{2}", code):
        raise PreferError(f"{where}code={code!r}: a status code is three digits, such as 410")
    delay = wanted.get("delay")
    try:
        delay_ms = 0.0 if delay is None else float(delay)
    except ValueError:
        delay_ms = -1.0
    if not 0 <= delay_ms <= 86_400_000:
        raise PreferError(f"{where}delay={delay!r}: milliseconds, from 0 to 86400000")
    sep = ", " if where == "Prefer: " else "&__"
    return Preference(
        code=None if code is None else int(code),
        example=wanted.get("example") or None,
        delay_ms=delay_ms,
        text=where + sep.join(f"{name}={value}" for name, value in wanted.items()),
    )


def without_preferences(query_string: bytes) -> bytes:
    """The query with Prism's parameters (and ours) taken off, for the operation."""
    pairs = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)
    kept = [(name, value) for name, value in pairs if name not in QUERY_NAMES]
    return urlencode(kept).encode("latin-1")


@dataclass(frozen=True)
class Documented:
    """One documented response of an operation."""

    code: int
    examples: dict[str, Any]  # name -> value, in the spec's order
    bare: frozenset[str]  # examples whose body is their text itself (NotRouted)
    headers: tuple[tuple[str, str], ...]  # documented headers with a value to send
    names_caller: bool  # it documents the es_* headers


@dataclass(frozen=True)
class Forced:
    """The answer a preference forces."""

    status: int
    body: Any
    bare: bool
    headers: tuple[tuple[str, str], ...]
    names_caller: bool
    applied: str


@dataclass
class PreferTable:
    """The documented responses of every operation of a spec, prepared once."""

    operations: dict[str, dict[int, Documented]] = field(default_factory=dict)

    @classmethod
    def from_spec(cls, spec: dict[str, Any]) -> PreferTable:
        table = cls()
        for item in spec.get("paths", {}).values():
            for method, operation in item.items():
                if method in ("get", "put", "post", "delete", "patch"):
                    table.operations[operation["operationId"]] = {
                        int(code): _documented(int(code), response)
                        for code, response in operation.get("responses", {}).items()
                        if code.isdigit()
                    }
        return table

    def answer(self, operation_id: str, preference: Preference) -> Forced:
        """The documented answer ``preference`` asks of ``operation_id``.

        :raises PreferError: naming the codes or the examples there are.
        """
        responses = self.operations.get(operation_id, {})
        codes = sorted(responses)
        if preference.code is not None:
            found = responses.get(preference.code)
            if found is None:
                raise PreferError(
                    f"Prefer code={preference.code}: {operation_id} documents no "
                    f"{preference.code} "
                    f"answer; it documents {', '.join(map(str, codes))}"
                )
            candidates = [found]
        else:
            candidates = [responses[code] for code in codes]
        name = preference.example
        if name is None:
            documented = candidates[0]
            name = next(iter(documented.examples), None)
        else:
            with_it = [d for d in candidates if name in d.examples]
            if not with_it:
                raise PreferError(
                    f"Prefer example={name}: {operation_id} has no example {name!r}"
                    + (f" in its {preference.code} answer" if preference.code else "")
                    + "; its examples are "
                    + "; ".join(
                        f"{d.code}: {', '.join(d.examples) or '(none)'}" for d in candidates
                    )
                )
            documented = with_it[0]
        body = None if name is None else documented.examples[name]
        applied = f"code={documented.code}" + ("" if name is None else f", example={name}")
        return Forced(
            documented.code,
            body,
            name in documented.bare,
            documented.headers,
            documented.names_caller,
            applied,
        )


def _documented(code: int, response: dict[str, Any]) -> Documented:
    media = response.get("content", {}).get("application/json", {})
    examples = {name: ex.get("value") for name, ex in media.get("examples", {}).items()}
    if not examples and "example" in media:
        examples["example"] = media["example"]
    schema = media.get("schema", {})
    bare_texts = {
        value
        for part in schema.get("oneOf", [schema])
        if part.get("title") == "NotRouted"
        for value in part.get("enum", [])
    }
    headers = []
    declared = response.get("headers", {})
    for name, header in declared.items():
        if name.lower() in PIPELINE_HEADERS:
            continue
        value = _header_value(header)
        if value is not None:
            headers.append((name, value))
    return Documented(
        code=code,
        examples=examples,
        bare=frozenset(n for n, v in examples.items() if isinstance(v, str) and v in bare_texts),
        headers=tuple(headers),
        names_caller="es_username" in declared,
    )


def _header_value(header: dict[str, Any]) -> str | None:
    schema = header.get("schema", {})
    for value in (header.get("example"), schema.get("example"), schema.get("default")):
        if value is not None:
            return str(value)
    enum = schema.get("enum")
    return None if not enum else str(enum[0])
