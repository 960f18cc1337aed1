"""The order in which a Python 2.7 set of strings iterates.

Real deployments answer ``GET /task/`` with a Python 2 set of task ids turned into a JSON list,
so the ids come in the order of that set's hash table: a scrambled order that depends on the
ids and on the order they were added (which on a real deployment follows Redis's own hash order,
seeded at random). The reference server lists its ids the same way, so that a client that
relies on the order of the list finds out against the reference server too.

This is CPython 2.7's string hash (64-bit, without hash randomization) and the open addressing
of its set objects: a table of 8 slots that grows four times over when two thirds are used,
probed with the hash's perturbation.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

_MASK64 = 2**64 - 1
_PERTURB_SHIFT = 5
_MIN_SIZE = 8


@lru_cache(maxsize=65536)  # a task list hashes the same ids on every call
def string_hash(text: str) -> int:
    """The hash CPython 2.7 gives a byte string (the id's UTF-8), as an unsigned 64-bit value."""
    data = text.encode("utf-8")
    if not data:
        return 0
    value = (data[0] << 7) & _MASK64
    for byte in data:
        value = ((1000003 * value) & _MASK64) ^ byte
    value ^= len(data)
    if value == _MASK64:  # -1 is reserved for errors
        value = _MASK64 - 1
    return value


def _insert(table: list[str | None], item: str, hashed: int) -> None:
    mask = len(table) - 1
    index = hashed & mask
    perturb = hashed
    while table[index & mask] is not None:
        index = (index << 2) + index + perturb + 1
        perturb >>= _PERTURB_SHIFT
    table[index & mask] = item


def set_order(items: Iterable[str]) -> list[str]:
    """The items as ``list(set(items))`` lists them on Python 2.7, added in the given order."""
    return list(_set_order(tuple(items)))


@lru_cache(maxsize=1024)  # a polled task list is the same ids in the same order
def _set_order(items: tuple[str, ...]) -> tuple[str, ...]:
    table: list[str | None] = [None] * _MIN_SIZE
    seen: set[str] = set()
    for item in items:
        if item in seen:
            continue
        seen.add(item)
        _insert(table, item, string_hash(item))
        if len(seen) * 3 >= len(table) * 2:
            size = _MIN_SIZE
            while size <= len(seen) * 4:
                size <<= 1
            old, table = table, [None] * size
            for kept in old:
                if kept is not None:
                    _insert(table, kept, string_hash(kept))
    return tuple(item for item in table if item is not None)
