"""How the per-bucket counters split a time window, and what one entry adds to them."""

from __future__ import annotations

import random

import pytest

from mockserver.logcounts import (
    DAY,
    EARLIEST,
    HOUR,
    LATEST,
    MINUTE,
    SECOND,
    WIDTHS,
    Buckets,
    Exact,
    counters,
    pieces,
)


def span(piece: Buckets | Exact) -> tuple[int, int]:
    if isinstance(piece, Exact):
        return piece.lo, piece.hi
    return piece.first * piece.width, piece.last * piece.width


@pytest.mark.parametrize(
    ("lo", "hi"),
    [
        (0, 3 * DAY),
        (5 * MINUTE + 7, 2 * DAY + 3 * HOUR + 1),
        (-DAY - 1, HOUR),
        (17, 18),
        (DAY - 1, DAY + 1),
        (10 * DAY, 10 * DAY),
    ],
)
def test_pieces_cover_the_window_exactly_in_time_order(lo: int, hi: int) -> None:
    found = pieces(lo, hi)
    edges = [span(piece) for piece in found]
    if lo == hi:
        assert edges == []
        return
    assert all(a < b for a, b in edges)
    assert [a for a, _ in edges] == [lo, *(b for _, b in edges[:-1])]
    assert edges[-1][1] == hi


def test_a_window_is_split_into_the_coarsest_buckets_that_fit() -> None:
    lo, hi = 2 * DAY - HOUR - 95 * SECOND, 4 * DAY + HOUR + 30
    ten = 10 * SECOND
    assert pieces(lo, hi) == [
        Exact(lo, 2 * DAY - HOUR - 90 * SECOND),
        Buckets(6, (2 * DAY - HOUR - 90 * SECOND) // ten, (2 * DAY - HOUR - MINUTE) // ten),
        Buckets(5, (2 * DAY - HOUR - MINUTE) // MINUTE, (2 * DAY - HOUR) // MINUTE),
        Buckets(3, (2 * DAY - HOUR) // HOUR, 2 * DAY // HOUR),
        Buckets(1, 2, 4),
        Buckets(3, 4 * DAY // HOUR, (4 * DAY + HOUR) // HOUR),
        Exact(4 * DAY + HOUR, hi),
    ]


def test_each_entry_counts_once_at_every_level() -> None:
    key = (1, 3, 1, "SUCCESS", "vm", "web01.example.com")
    t = 3 * DAY + 5 * HOUR + 7 * MINUTE + 11
    found = counters([(t, key), (t + 1, key), (t - DAY, key)])
    assert found[(0, 0, *key)] == 3
    assert found[(1, 3, *key)] == 2 and found[(1, 2, *key)] == 1
    assert found[(3, t // HOUR, *key)] == 2
    assert found[(5, t // MINUTE, *key)] == 2
    assert found[(6, t // (10 * SECOND), *key)] == 2
    assert sum(found.values()) == 3 * 7


@pytest.mark.parametrize("edge", [0, 1, 9 * SECOND, 10 * SECOND - 1, 10 * SECOND, 10 * SECOND + 1])
def test_only_what_is_under_ten_seconds_is_left_to_the_log(edge: int) -> None:
    lo = 5 * DAY + 7 * MINUTE + edge
    found = pieces(lo, 8 * DAY)
    exact = [p for p in found if isinstance(p, Exact)]
    assert all(p.hi - p.lo < 10 * SECOND for p in exact)
    assert [p.lo for p in exact] == ([] if edge % (10 * SECOND) == 0 else [lo])
    assert found[-1] == Buckets(1, 6, 8)
    tens = [p for p in found if isinstance(p, Buckets) and p.level == 6]
    assert all(p.width == 10 * SECOND for p in tens)


def _split(lo: int, hi: int, level: int = 1) -> list[Buckets | Exact]:
    """The rule :func:`pieces` follows, stated plainly: the coarsest whole buckets in the
    middle, the same split again on either side one level finer."""
    if lo >= hi:
        return []
    if level > len(WIDTHS):
        return [Exact(lo, hi)]
    width = WIDTHS[level - 1]
    first, last = -(-lo // width), hi // width
    if first >= last:
        return _split(lo, hi, level + 1)
    return [
        *_split(lo, first * width, level + 1),
        Buckets(level, first, last),
        *_split(last * width, hi, level + 1),
    ]


def test_pieces_follow_the_plain_rule_for_any_window() -> None:
    draw = random.Random(15)
    edges = [0, SECOND, 10 * SECOND, MINUTE, 10 * MINUTE, HOUR, 6 * HOUR, DAY]
    for _ in range(3000):
        # Windows near bucket edges of every width, and anywhere, on both sides of 1970.
        base = draw.randrange(-30, 30) * DAY
        lo = base + draw.choice(edges) * draw.randrange(0, 5) + draw.randrange(-3, 4)
        hi = lo + draw.choice([0, 1, *edges]) * draw.randrange(0, 40) + draw.randrange(-2, 9)
        level = draw.randrange(1, len(WIDTHS) + 1)
        assert pieces(lo, hi, level) == _split(lo, hi, level), (lo, hi, level)
    assert pieces(EARLIEST, LATEST) == _split(EARLIEST, LATEST) == [Buckets(1, *_days())]


def _days() -> tuple[int, int]:
    return EARLIEST // DAY, LATEST // DAY
