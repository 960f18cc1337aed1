"""Which rendering an ``Accept`` header asks for, decided as Danube Cloud's content negotiation
decides it.

Real deployments render JSON only. They split the header on commas and try its media ranges
most specific first (``type/subtype`` with parameters other than ``q``, then ``type/subtype``,
then ``type/*``, then ``*/*``), in the order sent within each rank; the first one that JSON
matches is the accepted one. ``q`` is ignored, so ``application/json;q=0`` is accepted. The
accepted range's ``indent`` parameter pretty-prints, clamped to 0..8, and 0 means compact.
No range JSON matches: 406. An empty header matches nothing either; no header at all is
``*/*``.

The header is read in one pass, whatever its length (a 200 kB header costs what reading it
costs, issue 12 H1).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

#: The largest indent real deployments render (``max(min(indent, 8), 0)``).
MAX_INDENT = 8
#: Headers up to this long have their answer remembered (clients send the same few).
_REMEMBERED = 512


@dataclass(frozen=True)
class Rendering:
    """How to render the answer: ``indent`` spaces, or compact when ``None``."""

    indent: int | None = None


COMPACT = Rendering()


def _precedence(main: str, sub: str, params: dict[str, str]) -> int:
    if main == "*":
        return 0
    if sub == "*":
        return 1
    return 2 if set(params) <= {"q"} else 3


def _media_range(token: str) -> tuple[str, str, dict[str, str]]:
    """``type``, ``subtype`` and parameters of one media range, as Django's ``parse_header``
    reads them: the type and the parameter names in lower case."""
    full, *pieces = token.split(";")
    main, _, sub = full.strip().lower().partition("/")
    params = {}
    for piece in pieces:
        name, equals, value = piece.partition("=")
        if equals:
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] == '"':
                value = value[1:-1]
            params[name.strip().lower()] = value
    return main, sub, params


def _indent(params: dict[str, str]) -> int | None:
    """``indent`` clamped to 0..8, 0 as ``None``; not an integer, ``None``."""
    raw = params.get("indent", "").strip()
    digits = raw[1:] if raw[:1] in ("+", "-") else raw
    if not digits or not (digits.isascii() and digits.isdigit()):
        return None
    if raw.startswith("-"):
        return None
    significant = digits.lstrip("0")  # no int() of a 5000-digit value (Python refuses it)
    value = MAX_INDENT if len(significant) > 1 else int(significant or "0")
    return min(value, MAX_INDENT) or None


def select(accept: str | None) -> Rendering | None:
    """The rendering the ``Accept`` header asks for; ``None`` when it excludes JSON (406)."""
    if accept is None:
        return COMPACT
    return _remembered(accept) if len(accept) <= _REMEMBERED else _select(accept)


def _select(accept: str) -> Rendering | None:
    best: tuple[int, dict[str, str]] | None = None
    for token in accept.split(","):
        main, sub, params = _media_range(token)
        if main not in ("application", "*") or sub not in ("json", "*"):
            continue
        precedence = _precedence(main, sub, params)
        if best is None or precedence > best[0]:
            best = (precedence, params)
    if best is None:
        return None
    indent = _indent(best[1])
    return COMPACT if indent is None else Rendering(indent)


_remembered = functools.lru_cache(maxsize=256)(_select)


def indent_of(accept: str | None) -> int | None:
    """The indent the ``Accept`` header asks for, or ``None`` for compact JSON."""
    rendering = select(accept)
    return None if rendering is None else rendering.indent
