"""The tables a run prints, and ``BENCHMARKS.md``, as Markdown."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bench.wrk import WrkResult


@dataclass
class Comparison:
    """One request type, measured on both servers."""

    name: str
    ours: WrkResult
    prism: WrkResult | None
    expected: int

    @property
    def ratio(self) -> float | None:
        if self.prism is None or not self.prism.rps:
            return None
        return self.ours.rps / self.prism.rps

    def verdict(self) -> str:
        """Whether this row meets the goal: twice Prism's requests per second, a p99 no worse,
        and only the expected status from both."""
        problems = []
        for name, result in (("ours", self.ours), ("Prism", self.prism)):
            if result is not None and result.share(self.expected) < 1:
                problems.append(f"{name} answered {result.status_mix()}")
            if result is not None and result.errors:
                problems.append(f"{name} had {result.errors} socket errors")
        if self.prism is not None:
            if (self.ratio or 0) < 2:
                problems.append("under 2x")
            if self.ours.p99_ms > self.prism.p99_ms:
                problems.append("worse p99")
        return "; ".join(problems) or "ok"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A Markdown table, columns padded so that it also reads as plain text."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(headers), rule, *(line(row) for row in rows)])


def _n(value: float) -> str:
    return f"{value:,.0f}"


def _ms(value: float) -> str:
    return f"{value:.2f}"


def comparison_table(rows: Sequence[Comparison]) -> str:
    headers = [
        "request",
        "ours req/s",
        "Prism req/s",
        "ratio",
        "ours p50 ms",
        "Prism p50 ms",
        "ours p99 ms",
        "Prism p99 ms",
        "ours statuses",
        "Prism statuses",
        "bytes ours/Prism",
        "verdict",
    ]
    body = []
    for row in rows:
        prism = row.prism
        body.append(
            [
                row.name,
                _n(row.ours.rps),
                "-" if prism is None else _n(prism.rps),
                "-" if row.ratio is None else f"{row.ratio:.1f}x",
                _ms(row.ours.p50_ms),
                "-" if prism is None else _ms(prism.p50_ms),
                _ms(row.ours.p99_ms),
                "-" if prism is None else _ms(prism.p99_ms),
                row.ours.status_mix(),
                "-" if prism is None else prism.status_mix(),
                f"{row.ours.bytes_per_response}/"
                + ("-" if prism is None else str(prism.bytes_per_response)),
                row.verdict(),
            ]
        )
    return table(headers, body)


@dataclass
class ScaleRow:
    """One log size: how long the history took to load, memory, and latencies."""

    entries: int
    load_s: float
    ready_s: str
    rss_mib: float
    peak_mib: float
    latencies: dict[str, WrkResult]


def scale_table(rows: Sequence[ScaleRow]) -> str:
    names = list(rows[0].latencies) if rows else []
    headers = ["request", *(f"{row.entries:,} entries p50 / p99 ms" for row in rows)]
    if len(rows) > 1:
        headers.append(f"p50 {rows[-1].entries:,} / {rows[0].entries:,}")
    body = []
    for name in names:
        cells = [name]
        for row in rows:
            result = row.latencies[name]
            mix = "" if result.share(200) == 1 else f" ({result.status_mix()})"
            cells.append(f"{_ms(result.p50_ms)} / {_ms(result.p99_ms)}{mix}")
        if len(rows) > 1:
            first, last = rows[0].latencies[name], rows[-1].latencies[name]
            cells.append(f"{last.p50_ms / first.p50_ms:.2f}x")
        body.append(cells)
    extra: list[tuple[str, list[str]]] = [
        ("start to first answer, s (builds the history)", [f"{r.load_s:.1f}" for r in rows]),
        ("server's own 'ready in', s", [r.ready_s for r in rows]),
        ("RSS after loading, MiB", [f"{r.rss_mib:.0f}" for r in rows]),
        ("peak RSS, MiB", [f"{r.peak_mib:.0f}" for r in rows]),
    ]
    for label, cells in extra:
        body.append([label, *cells, *([""] if len(rows) > 1 else [])])
    return table(headers, body)
