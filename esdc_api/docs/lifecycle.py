"""The task lifecycle page: the states, their HTTP status and their transitions, from the spec.

The facts are the ``TaskState`` schema's ``enum``, ``x-http-status`` and ``x-transitions``. The
diagram is an inline SVG laid out here, left to right by the longest path from the first state,
so the build needs no graphviz: transitions that lead back (a result that expired) run along a
dashed lane beneath the states.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

from esdc_api.docs.errors import SpecGap
from esdc_api.docs.markdown import inline_to_rst, to_rst
from esdc_api.spec import Spec

_BOX_W, _BOX_H, _GAP_X, _GAP_Y, _MARGIN = 130, 46, 110, 34, 20
_FILL = {2: "#dff0d8", 4: "#f2dede"}  # by the status class; 201 and 410 get their own below


@dataclass(frozen=True)
class Transition:
    number: int
    source: str
    target: str
    when: str


def task_state_schema(spec: Spec) -> Mapping[str, Any]:
    """The ``TaskState`` schema, found where the status endpoint's answer uses it."""
    return find_schema(spec, "TaskState", "x-http-status")


def find_schema(spec: Spec, title: str, key: str) -> Mapping[str, Any]:
    """The first schema of the bundled ``spec`` titled ``title`` that has ``key``.

    :raises SpecGap: if there is none.
    """
    stack: list[Any] = [spec.get("paths", {})]
    while stack:
        node = stack.pop(0)
        if isinstance(node, dict):
            if node.get("title") == title and key in node:
                return node
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    raise SpecGap(f"no {title} schema with {key} in the spec; the docs need it")


def transitions(schema: Mapping[str, Any]) -> list[Transition]:
    states = set(schema["enum"])
    found = []
    for number, entry in enumerate(schema.get("x-transitions", []), 1):
        if not isinstance(entry.get("when"), str):
            raise SpecGap(f"TaskState.x-transitions #{number} needs a 'when' text: {entry}")
        if entry["from"] not in states or entry["to"] not in states:
            raise SpecGap(
                f"TaskState.x-transitions #{number} names a state not in the enum: {entry}"
            )
        found.append(Transition(number, entry["from"], entry["to"], str(entry["when"])))
    return found


def lifecycle_rst(spec: Spec) -> str:
    """The tables and the diagram of the task lifecycle page."""
    schema = task_state_schema(spec)
    status: Mapping[str, int] = schema["x-http-status"]
    moves = transitions(schema)
    lines = [to_rst(schema.get("description", "")), ""]
    lines += [f".. list-table:: {_TABLE_TITLE}", "   :header-rows: 1", "",
              "   * - State", "     - HTTP status", "     - Leads to"]  # fmt: skip
    for state in schema["enum"]:
        targets = ", ".join(f"``{t.target}`` ({t.number})" for t in moves if t.source == state)
        lines += [
            f"   * - ``{state}``",
            f"     - :http:statuscode:`{status[state]}`",
            f"     - {targets or '—'}",
        ]
    lines += ["", ".. list-table:: Transitions", "   :header-rows: 1", "",
              "   * - #", "     - From", "     - To", "     - When"]  # fmt: skip
    for move in moves:
        lines += [f"   * - {move.number}", f"     - ``{move.source}``", f"     - ``{move.target}``",
                  f"     - {inline_to_rst(move.when)}"]  # fmt: skip
    lines += ["", ".. raw:: html", "", "   " + diagram_svg(schema["enum"], status, moves), ""]
    return "\n".join(lines) + "\n"


def diagram_svg(
    states: Sequence[str], status: Mapping[str, int], moves: Sequence[Transition]
) -> str:
    """The states as boxes, left to right, with numbered arrows; one line of SVG."""
    layer = _layers(states, moves)
    columns: dict[int, list[str]] = {}
    for state in states:
        columns.setdefault(layer[state], []).append(state)
    rows = max(len(c) for c in columns.values())
    height = rows * _BOX_H + (rows - 1) * _GAP_Y
    pos: dict[str, tuple[float, float]] = {}
    for col, names in columns.items():
        top = _MARGIN + (height - (len(names) * _BOX_H + (len(names) - 1) * _GAP_Y)) / 2
        for i, name in enumerate(names):
            pos[name] = (_MARGIN + col * (_BOX_W + _GAP_X), top + i * (_BOX_H + _GAP_Y))
    lane = _MARGIN + height + 24 + 6 * len(moves)
    backs = sum(1 for m in moves if layer[m.target] <= layer[m.source])
    width = _MARGIN * 2 + len(columns) * _BOX_W + (len(columns) - 1) * _GAP_X + 8 * backs + 10
    parts = [
        "<svg"
        + _attrs(
            {
                "class": "esdc-lifecycle",
                "xmlns": "http://www.w3.org/2000/svg",
                "width": width,
                "height": lane + 30,
                "viewBox": f"0 0 {width} {lane + 30}",
                "role": "img",
                "aria-label": "Task states and transitions",
            }
        )
        + ">",
        '<defs><marker id="esdc-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse">'
        '<path d="M0,0L10,5L0,10z" fill="#444"/></marker></defs>',
    ]  # fmt: skip
    arrow = {"marker-end": "url(#esdc-arrow)"}
    back_labels: list[str] = []
    for move in moves:
        (x1, y1), (x2, y2) = pos[move.source], pos[move.target]
        if layer[move.target] > layer[move.source]:
            sx, sy, ex, ey = x1 + _BOX_W, y1 + _BOX_H / 2, x2, y2 + _BOX_H / 2
            mx, my = sx + (ex - sx) * 0.35, sy + (ey - sy) * 0.35
            parts += [
                _tag("line", x1=sx, y1=sy, x2=ex, y2=ey, stroke="#444", **arrow),
                _tag("circle", cx=mx, cy=my, r=9, fill="#fff", stroke="#444"),
                _tag("text", str(move.number), x=mx, y=my + 4, **_SMALL),
            ]
        else:
            # Out of the right side, down a lane of its own, left beneath the states, up into
            # the target: back edges never cross a box.
            k = len(back_labels)
            rx, by, tx = width - _MARGIN - 8 * k, lane - 6 * k, x2 + _BOX_W / 2 - 10 * k
            route = f"M{x1 + _BOX_W},{y1 + _BOX_H / 2} H{rx} V{by} H{tx} V{y2 + _BOX_H}"
            parts.append(_tag("path", d=route, fill="none", stroke="#888", **_DASHED, **arrow))
            back_labels.append(str(move.number))
    if back_labels:
        legend = f"dashed: {', '.join(back_labels)} (see the table)"
        parts.append(_tag("text", legend, x=_MARGIN, y=lane + 18, fill="#555", **_SMALL_LEFT))
    for state in states:
        x, y = pos[state]
        code = status[state]
        fill = {201: "#d9edf7", 410: "#e5e5e5"}.get(code, _FILL.get(code // 100, "#fff"))
        middle = x + _BOX_W / 2
        parts += [
            _tag("rect", x=x, y=y, width=_BOX_W, height=_BOX_H, rx=6, fill=fill, stroke="#444"),
            _tag("text", state, x=middle, y=y + 19, **_BOLD),
            _tag("text", f"HTTP {code}", x=middle, y=y + 36, **_SMALL),
        ]
    parts.append("</svg>")
    return "".join(parts)


_TABLE_TITLE = "States and the HTTP status of /status/, /done/ and /cancel/"
_SMALL = {"font-size": 11, "text-anchor": "middle"}
_SMALL_LEFT = {"font-size": 11}
_BOLD = {"font-size": 13, "font-weight": "bold", "text-anchor": "middle"}
_DASHED = {"stroke-dasharray": "4 3"}


def _attrs(attributes: Mapping[str, object]) -> str:
    return "".join(f' {key}="{escape(str(value))}"' for key, value in attributes.items())


def _tag(name: str, text: str | None = None, **attributes: object) -> str:
    """One SVG element; ``text`` makes it a container, else it closes itself."""
    if text is None:
        return f"<{name}{_attrs(attributes)}/>"
    return f"<{name}{_attrs(attributes)}>{escape(text)}</{name}>"


def _layers(states: Sequence[str], moves: Sequence[Transition]) -> dict[str, int]:
    """Each state's column: the longest path to it from the first state, back edges ignored."""
    order = {state: i for i, state in enumerate(states)}
    layer = {state: 0 for state in states}
    forward = [m for m in moves if order[m.target] > order[m.source]]
    for _ in states:  # relax; the forward edges form no cycle, so len(states) rounds suffice
        for move in forward:
            layer[move.target] = max(layer[move.target], layer[move.source] + 1)
    return layer
