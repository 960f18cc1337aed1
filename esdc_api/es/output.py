"""Turning an answer into what ``es`` prints: the JSON envelope, CSV or a text table.

Each output format is a function from the answer to the text for stdout, listed in
:data:`FORMATS` under the name that follows ``--`` on the command line. Nothing here writes.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from esdc_api.es.client import Reply

#: The separator of ``--csv`` fields, as in the original.
CSV_DELIMITER = ";"
#: The envelope's keys in the order the Danube Cloud docs show them.
ENVELOPE_KEYS = ("url", "status", "method", "text")

Formatter = Callable[[Reply, Mapping[str, Any]], str]
Cell = Any
Table = tuple[list[str], list[list[Cell]]]


def envelope(reply: Reply, debug: Mapping[str, Any]) -> str:
    """The answer as ``{"url", "status", "method", "text"}`` with 4-space indent.

    ``help`` (OPTIONS) prints only the ``description`` of the answer, when there is one.
    ``debug`` holds the keys ``-d`` adds (``command``, ``headers``, ``request.headers``).
    """
    if reply.method == "OPTIONS" and isinstance(reply.text, dict) and "description" in reply.text:
        return f"{reply.text['description']}\n"
    document = {"url": reply.url, "status": reply.status, "method": reply.method}
    document["text"] = reply.text
    document.update(debug)
    return json.dumps(document, indent=4) + "\n"


def results(reply: Reply) -> Any:
    """What the table formats show: for a 2xx answer its ``result``, else ``results``, else all."""
    text = reply.text
    if 200 <= reply.status < 300 and isinstance(text, dict):
        for key in ("result", "results"):
            if key in text:
                return text[key]
    return text


def to_table(data: Any) -> Table | None:
    """``data`` as headers and rows, or ``None`` when it is a single value, not a table.

    A dict becomes key/value rows; a list of dicts a row per dict under the first dict's keys; a
    list of lists stays as it is; a list of anything else becomes one column.
    """
    if isinstance(data, dict):
        return [], [[key, _flatten(value)] for key, value in data.items()]
    if not isinstance(data, list):
        return None
    if data and isinstance(data[0], dict):
        headers = [str(key) for key in data[0]]
        return headers, [_dict_row(item, headers) for item in data]
    return [], [list(item) if isinstance(item, list) else [item] for item in data]


def _dict_row(item: Any, headers: list[str]) -> list[Cell]:
    if not isinstance(item, dict):
        return [_flatten(item)]
    return [_flatten(item.get(key)) for key in headers]


def _flatten(value: Any) -> Cell:
    # As the original: "key: value" pairs and list items joined by commas, in Python's str().
    if isinstance(value, dict):
        return ",".join(f"{key}: {item}" for key, item in value.items())
    if isinstance(value, list):
        return ",".join(str(item) for item in value)
    return value


def _text(cell: Cell) -> str:
    return "" if cell is None else str(cell)


def _is_number(cell: Cell) -> bool:
    return isinstance(cell, int | float) and not isinstance(cell, bool)


def _tabular(render: Callable[[Table], str]) -> Formatter:
    def formatter(reply: Reply, debug: Mapping[str, Any]) -> str:
        data = results(reply)
        table = to_table(data)
        if table is None:
            return f"{data}\n"
        return render(table)

    return formatter


def render_csv(table: Table) -> str:
    """Rows separated by ``;``, quoted only where needed; a header row when there are headers."""
    headers, rows = table
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=CSV_DELIMITER, quoting=csv.QUOTE_MINIMAL)
    if headers:
        writer.writerow(headers)
    writer.writerows(rows)
    return buffer.getvalue()


def _aligned(headers: list[str], rows: list[list[Cell]]) -> tuple[list[int], list[list[str]]]:
    """Column widths and the cells as text, numbers right-aligned, everything else left."""
    columns = max([len(headers), *(len(row) for row in rows)], default=0)
    padded = [row + [None] * (columns - len(row)) for row in rows]
    header_cells = headers + [""] * (columns - len(headers))
    numeric = [
        all(_is_number(row[i]) for row in padded if row[i] is not None)
        and any(row[i] is not None for row in padded)
        for i in range(columns)
    ]
    texts = [[_text(cell) for cell in row] for row in padded]
    widths = [max([len(header_cells[i]), *(len(row[i]) for row in texts)]) for i in range(columns)]

    def align(cells: Sequence[str]) -> list[str]:
        return [
            cell.rjust(width) if is_number else cell.ljust(width)
            for cell, width, is_number in zip(cells, widths, numeric, strict=True)
        ]

    return widths, [align(header_cells), *(align(row) for row in texts)]


def _lines(lines: list[str]) -> str:
    return "".join(line.rstrip() + "\n" for line in lines)


def render_simple(table: Table) -> str:
    """Columns two spaces apart, with a dashed rule under the headers (or around the rows)."""
    headers, rows = table
    if not rows and not headers:
        return "\n"
    widths, (head, *body) = _aligned(*table)
    rule = "  ".join("-" * width for width in widths)
    if headers:
        return _lines(["  ".join(head), rule, *("  ".join(row) for row in body)])
    return _lines([rule, *("  ".join(row) for row in body), rule])


def render_plain(table: Table) -> str:
    """Columns two spaces apart, no rules."""
    headers, rows = table
    if not rows and not headers:
        return "\n"
    _, (head, *body) = _aligned(*table)
    return _lines(["  ".join(row) for row in ([head] if headers else []) + body])


def render_github(table: Table) -> str:
    """A GitHub-flavoured Markdown table (``| a | b |``)."""
    headers, rows = table
    if not rows and not headers:
        return "\n"
    widths, (head, *body) = _aligned(*table)
    rule = "|" + "|".join("-" * (width + 2) for width in widths) + "|"
    lines = [f"| {' | '.join(head)} |", rule] if headers else []
    return _lines(lines + [f"| {' | '.join(row)} |" for row in body])


#: The styles of ``--tabulate-<style>``, named as in the tabulate package the original used.
TABLE_STYLES: dict[str, Callable[[Table], str]] = {
    "simple": render_simple,
    "plain": render_plain,
    "github": render_github,
    "csv": render_csv,
}
#: Output formats by the name that follows ``--``; ``--json`` is the default.
FORMATS: dict[str, Formatter] = {
    "json": envelope,
    "csv": _tabular(render_csv),
    "tabulate": _tabular(render_simple),
    **{f"tabulate-{name}": _tabular(render) for name, render in TABLE_STYLES.items()},
}
