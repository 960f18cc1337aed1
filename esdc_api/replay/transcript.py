"""The transcript: recorded exchanges, one JSON object a line, in the order they were sent.

The format is the one of ``../shared/reference/real-4.6/transcript.jsonl`` (its README.md
describes it): each line has ``n``, ``t`` (seconds after the world's seed), the ``request``
exactly as sent (method, request target with its percent-encoding, headers in order with
credential placeholders, body text), the ``response`` as received, a ``note`` of what the case
shows, ``worker`` (whether the mgmt worker ran), ``throttle_reset`` (whether the throttle's
history was cleared right before) and, on a few lines, ``setup_before``: what was done to the
deployment right before the request.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from esdc_api.replay.answer import Answer
from esdc_api.replay.errors import TranscriptError


@dataclass(frozen=True)
class Sent:
    """A request as it was sent: ``target`` is the request target (path and query, encoded)."""

    method: str
    target: str
    headers: Sequence[tuple[str, str]]
    body: str | None

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None


@dataclass(frozen=True)
class Setup:
    """Something done to the deployment right before an exchange, at ``t``.

    ``message`` is a task's message that was published to its queue; a setup without one
    started the worker (the exchange after it is the first with ``worker`` true).
    """

    t: float
    action: str
    message: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Exchange:
    """One recorded request and the answer it got."""

    n: int
    t: float
    request: Sent
    response: Answer
    note: str = ""
    who: str = ""
    group: str = ""
    worker: bool = False
    throttle_reset: bool = True
    credentials: Sequence[Mapping[str, Any]] = ()
    setup_before: Sequence[Setup] = field(default_factory=tuple)

    def __str__(self) -> str:
        return f"n={self.n} {self.request.method} {self.request.target}"


def load_transcript(path: Path) -> list[Exchange]:
    """Read a transcript file.

    :raises TranscriptError: naming the line and the field when the file is missing, a line is
        not an exchange, or the exchanges are not in the order they were sent.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TranscriptError(path, "no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise TranscriptError(path, f"cannot be read: {exc}") from exc
    exchanges: list[Exchange] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
        except ValueError as exc:
            raise TranscriptError(path, f"not a JSON object: {exc}", number) from exc
        try:
            exchange = _exchange(raw)
        except (KeyError, TypeError, ValueError) as exc:
            raise TranscriptError(path, _field_problem(exc), number) from exc
        if exchanges and exchange.t < exchanges[-1].t:
            raise TranscriptError(
                path,
                f"n={exchange.n} was sent at t={exchange.t}, before n={exchanges[-1].n} "
                f"(t={exchanges[-1].t}); the lines must be in the order they were sent",
                number,
            )
        exchanges.append(exchange)
    if not exchanges:
        raise TranscriptError(path, "holds no exchange (one JSON object a line)")
    return exchanges


def _field_problem(exc: Exception) -> str:
    if isinstance(exc, KeyError):
        return f"lacks the field {exc.args[0]!r}"
    return str(exc)


def _need(raw: Any, key: str, kind: type | tuple[type, ...], what: str) -> Any:
    if not isinstance(raw, dict):
        raise TypeError(f"{what} is not an object")
    if key not in raw:
        raise KeyError(f"{what}.{key}" if what != "the line" else key)
    value = raw[key]
    if not isinstance(value, kind) or isinstance(value, bool) and bool not in _kinds(kind):
        raise TypeError(f"{key} of {what} is {value!r}, not {_names(kind)}")
    return value


def _kinds(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _names(kind: type | tuple[type, ...]) -> str:
    names = {str: "a string", int: "an integer", float: "a number", list: "a list",
             dict: "an object", bool: "true or false", type(None): "null"}  # fmt: skip
    return " or ".join(names.get(k, k.__name__) for k in _kinds(kind))


def _headers(raw: Any, what: str) -> list[tuple[str, str]]:
    if not isinstance(raw, list) or not all(
        isinstance(pair, list) and len(pair) == 2 and all(isinstance(v, str) for v in pair)
        for pair in raw
    ):
        raise TypeError(f"{what} is not a list of [name, value] pairs")
    return [(name, value) for name, value in raw]


def _exchange(raw: Any) -> Exchange:
    n = _need(raw, "n", int, "the line")
    request = _need(raw, "request", dict, "the line")
    response = _need(raw, "response", dict, "the line")
    if "body_base64" in response:
        body = base64.b64decode(_need(response, "body_base64", str, "response"), validate=True)
    else:
        body = _need(response, "body", str, "response").encode("utf-8")
    setups = [
        Setup(
            t=float(_need(entry, "t", (int, float), "setup_before")),
            action=str(entry.get("action", "")),
            message=entry.get("message"),
        )
        for entry in _need(raw, "setup_before", list, "the line")
    ] if "setup_before" in raw else []  # fmt: skip
    return Exchange(
        n=n,
        t=float(_need(raw, "t", (int, float), "the line")),
        request=Sent(
            method=_need(request, "method", str, "request").upper(),
            target=_need(request, "path", str, "request"),
            headers=_headers(_need(request, "headers", list, "request"), "request.headers"),
            body=_need(request, "body", (str, type(None)), "request"),
        ),
        response=Answer(
            status=_need(response, "status", int, "response"),
            headers=_headers(_need(response, "headers", list, "response"), "response.headers"),
            body=body,
        ),
        note=str(raw.get("note", "")),
        who=str(raw.get("who", "")),
        group=str(raw.get("group", "")),
        worker=bool(raw.get("worker", False)),
        throttle_reset=bool(raw.get("throttle_reset", True)),
        credentials=tuple(raw.get("credentials", ())),
        setup_before=tuple(setups),
    )
