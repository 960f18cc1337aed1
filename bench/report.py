"""The tables a run prints, and ``BENCHMARKS.md``, as Markdown."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bench.wrk import WrkResult


@dataclass
class Comparison:
    """One request type, measured on ours and on each peer."""

    name: str
    ours: WrkResult
    peers: dict[str, WrkResult]
    expected: int

    def ratio(self, peer: str) -> float | None:
        result = self.peers.get(peer)
        if result is None or not result.rps:
            return None
        return self.ours.rps / result.rps

    @property
    def slowest_ratio(self) -> tuple[str, float] | None:
        """The peer ours is the least ahead of, and by how much."""
        ratios = [(self.ratio(peer), peer) for peer in self.peers]
        found = min(((r, p) for r, p in ratios if r is not None), default=None)
        return None if found is None else (found[1], found[0])

    def verdict(self) -> str:
        """Whether this row meets the goal: twice every peer's requests per second, a p99 no
        worse than any, and only the expected status from all."""
        problems = []
        for name, result in (("ours", self.ours), *self.peers.items()):
            if result.share(self.expected) < 1:
                problems.append(f"{name} answered {result.status_mix()}")
            if result.errors:
                problems.append(f"{name} had {result.errors} socket errors")
        for peer, result in self.peers.items():
            if (self.ratio(peer) or 0) < 2:
                problems.append(f"under 2x {peer}")
            if self.ours.p99_ms > result.p99_ms:
                problems.append(f"worse p99 than {peer}")
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
    peers = list(rows[0].peers) if rows else []
    headers = ["request", "ours req/s", "ours p50 / p99 ms"]
    for peer in peers:
        headers += [f"{peer} req/s", f"x {peer}", f"{peer} p50 / p99 ms"]
    headers += ["ours statuses", "bytes ours/" + "/".join(peers), "verdict"]
    body = []
    for row in rows:
        cells = [row.name, _n(row.ours.rps), f"{_ms(row.ours.p50_ms)} / {_ms(row.ours.p99_ms)}"]
        for peer in peers:
            result = row.peers.get(peer)
            ratio = row.ratio(peer)
            cells += [
                "-" if result is None else _n(result.rps),
                "-" if ratio is None else f"{ratio:.1f}x",
                "-" if result is None else f"{_ms(result.p50_ms)} / {_ms(result.p99_ms)}",
            ]
        sizes = [str(row.ours.bytes_per_response)] + [
            str(row.peers[p].bytes_per_response) if p in row.peers else "-" for p in peers
        ]
        cells += [row.ours.status_mix(), "/".join(sizes), row.verdict()]
        body.append(cells)
    return table(headers, body)


def slowest(rows: Sequence[Comparison]) -> tuple[str, str, float] | None:
    """The request type and peer with the smallest ratio in ``rows``, and that ratio."""
    found = [(r.slowest_ratio, r.name) for r in rows if r.slowest_ratio is not None]
    if not found:
        return None
    (peer, ratio), name = min(found, key=lambda item: item[0][1])
    return name, peer, ratio


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
