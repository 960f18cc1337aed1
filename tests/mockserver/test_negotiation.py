"""Content negotiation as real deployments do it (``Accept``), by direct calls; cited by the
recorded exchange ``n`` of ``../shared/reference/real-4.6/transcript.jsonl``."""

from __future__ import annotations

import re
import sys
from types import FrameType
from typing import Any

import pytest

from mockserver import negotiation
from mockserver.negotiation import Rendering, select


@pytest.mark.parametrize(
    ("accept", "rendering"),
    [
        (None, Rendering()),  # n=50
        ("*/*", Rendering()),
        ("application/json", Rendering()),  # n=49
        ("application/json;q=0", Rendering()),  # n=45: q is ignored
        ("application/json; indent=0", Rendering()),  # n=46: 0 is compact
        ("*/*; indent=2", Rendering(2)),  # n=47
        ("application/json; indent=4", Rendering(4)),  # n=48
        ("application/json; indent=12", Rendering(8)),
        ("application/json; INDENT=3", Rendering(3)),
        ("text/html, */*;q=0.1", Rendering()),
        ("*/*, application/json; indent=3", Rendering(3)),  # the most specific range wins
        ("application/*; indent=2, */*; indent=5", Rendering(2)),
        ("application/json; indent=1" + "0" * 5000, Rendering(8)),
    ],
)
def test_the_accepted_range_decides_the_indent(accept: str | None, rendering: Rendering) -> None:
    assert select(accept) == rendering


@pytest.mark.parametrize("accept", ["text/html", "application/xml", "", "*", "text/*"])
def test_ranges_json_does_not_match_are_406(accept: str) -> None:
    """n=43, 44."""
    assert select(accept) is None


def test_a_hostile_accept_header_is_read_in_work_bounded_by_its_length(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Issue 12 H1: ``application/json;`` 12,000 times (200 kB) froze the server for 14 s in
    the old parser, a regular expression that backtracked over the whole header. The parser
    now runs no regular expression over the header and executes a number of Python
    instructions proportional to its parts; both are counted, not timed."""
    scanned: list[int] = []

    class Counting:
        def __init__(self, pattern: Any) -> None:
            self.pattern = pattern

        def __getattr__(self, name: str) -> Any:
            method = getattr(self.pattern, name)

            def counted(text: str, *args: Any) -> Any:
                scanned.append(len(text))
                return method(text, *args)

            return counted

    real_compile = re._compile  # type: ignore[attr-defined]
    monkeypatch.setattr(re, "_compile", lambda *a: Counting(real_compile(*a)))
    for name, value in vars(negotiation).items():
        if isinstance(value, re.Pattern):
            monkeypatch.setattr(negotiation, name, Counting(value))

    def instructions(header: str) -> int:
        count = 0

        def trace(frame: FrameType, event: str, _arg: Any) -> Any:
            nonlocal count
            frame.f_trace_opcodes = True
            if event == "opcode":
                count += 1
            return trace

        sys.settrace(trace)
        try:
            negotiation._select(header)
        finally:
            sys.settrace(None)
        return count

    small = instructions("application/json;" * 1_000)
    large = instructions("application/json;" * 12_000)
    assert max(scanned, default=0) <= 64, "a regular expression ran over the header"
    assert large <= 13 * small, f"{large} instructions for 12x the parts, {small} for 1x"
