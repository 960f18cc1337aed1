"""The task list's order is the order a Python 2.7 set of its ids iterates in."""

from __future__ import annotations

from mockserver.pyset import set_order, string_hash


def test_the_string_hash_is_python_2s() -> None:
    """``hash('a')`` on 64-bit CPython 2.7 is 12416037344; ``hash('')`` is 0."""
    assert string_hash("a") == 12416037344
    assert string_hash("") == 0


def test_a_small_set_iterates_in_its_tables_order() -> None:
    """``list(set(['a', 'b', 'c']))`` on CPython 2.7 is ``['a', 'c', 'b']``."""
    assert set_order(["a", "b", "c"]) == ["a", "c", "b"]
    assert set_order(iter(["a", "b", "c"])) == ["a", "c", "b"]  # any iterable, every time


def test_repeats_count_once_and_growing_keeps_every_item() -> None:
    ids = [f"3e3d1-{n:08x}-5b3e-4d21-a9f0" for n in range(40)]
    listed = set_order([*ids, *ids[:5]])
    assert sorted(listed) == sorted(ids)
    listed.append("mine")  # the caller's own list
    assert set_order(ids) == listed[:-1]
