"""The tables: the ratio, the verdict on each row, and the rewrite of BENCHMARKS.md."""

from __future__ import annotations

from pathlib import Path

from bench.__main__ import BEGIN, END, write
from bench.report import Comparison, ScaleRow, comparison_table, scale_table, slowest, table
from bench.wrk import WrkResult


def result(rps: float, p50: float = 1.0, p99: float = 5.0, statuses=None) -> WrkResult:  # type: ignore[no-untyped-def]
    requests = int(rps * 10)
    return WrkResult(
        requests=requests,
        duration_us=10_000_000,
        bytes=requests * 300,
        errors=0,
        latency_us={50: int(p50 * 1000), 90: int(p50 * 2000), 99: int(p99 * 1000)},
        statuses=statuses or {200: requests},
    )


def test_a_row_twice_as_fast_as_every_peer_with_a_better_p99_and_only_200s_is_ok() -> None:
    peers = {"Prism": result(3000, p99=9), "WireMock": result(2500, p99=5)}
    row = Comparison("status", result(6000, p99=4), peers, 200)
    assert row.ratio("Prism") == 2.0 and row.ratio("WireMock") == 2.4
    assert row.slowest_ratio == ("Prism", 2.0)
    assert row.verdict() == "ok"


def test_the_verdict_names_every_shortfall_against_each_peer() -> None:
    peers = {"Prism": result(3000, p99=9), "Mockoon": result(500, p99=30)}
    slow = Comparison("log page", result(2000, p99=20), peers, 200)
    assert slow.verdict() == "under 2x Prism; worse p99 than Prism"
    forbidden = Comparison("stats", result(9000, statuses={403: 90000}), {"P": result(1000)}, 200)
    assert forbidden.verdict() == "ours answered 403×90000"


def test_the_comparison_table_has_a_row_per_request_and_a_ratio_per_peer() -> None:
    peers = {"Prism": result(2600), "WireMock": result(3250)}
    text = comparison_table([Comparison("done", result(6500), peers, 200)])
    header, rule, row = text.splitlines()
    assert header.startswith("| request ") and set(rule) <= {"|", "-"}
    assert "| x Prism " in header and "| x WireMock " in header
    assert "| done " in row and "| 6,500 " in row and "| 2.5x " in row and "| 2.0x " in row
    assert "200×65000" in row


def test_the_slowest_ratio_of_a_table_is_named() -> None:
    rows = [
        Comparison("done", result(6500), {"Prism": result(2600), "WireMock": result(3250)}, 200),
        Comparison("stats", result(3000), {"Prism": result(1000), "WireMock": result(2000)}, 200),
    ]
    assert slowest(rows) == ("stats", "WireMock", 1.5)


def test_the_scale_table_compares_the_largest_log_with_the_smallest() -> None:
    rows = [
        ScaleRow(10_020, 1.2, "0.4", 70, 75, {"stats": result(900, p50=1.0)}),
        ScaleRow(1_000_020, 31.0, "30.1", 400, 900, {"stats": result(800, p50=1.5)}),
    ]
    text = scale_table(rows)
    assert "| stats " in text and "1.50x" in text
    assert "1,000,020 entries" in text and "| peak RSS, MiB" in text


def test_columns_are_padded_to_the_widest_cell() -> None:
    assert table(["a", "bb"], [["long cell", "x"]]).splitlines()[0] == "| a         | bb |"


def test_writing_keeps_what_is_around_the_measured_part(tmp_path: Path) -> None:
    target = tmp_path / "BENCHMARKS.md"
    write(target, "first\n")
    assert target.read_text() == f"# Benchmarks\n\n{BEGIN}\nfirst\n{END}\n"
    target.write_text(target.read_text() + "\n## Notes by hand\n")
    write(target, "second\n")
    assert target.read_text() == f"# Benchmarks\n\n{BEGIN}\nsecond\n{END}\n\n## Notes by hand\n"
