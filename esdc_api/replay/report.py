"""What a replay found: a result per exchange, the counts, the table and the JSON details."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from esdc_api.replay.answer import Answer
from esdc_api.replay.transcript import Exchange
from esdc_api.replay.verdict import Judgement, Verdict

#: The width the table's prose is wrapped at.
WIDTH = 100
#: How each dependency reads in the table.
DEPENDENCY_NAMES = {"throttle": "the throttle", "workers": "the workers", "clock": "the clock"}


@dataclass(frozen=True)
class Result:
    """One exchange replayed: our answer and its judgement.

    :param problems: what the replay could not send as recorded (a token that no login gave).
    :param depends_on: what the answer depends on that the target did not let the replay
        control (:mod:`esdc_api.replay.timing`); empty against a reference server.
    """

    exchange: Exchange
    answer: Answer
    judgement: Judgement
    problems: Sequence[str] = ()
    depends_on: tuple[str, ...] = ()

    @property
    def verdict(self) -> Verdict:
        return self.judgement.verdict

    @property
    def strict(self) -> bool:
        """Whether the verdict can be taken at its word (nothing uncontrolled behind it)."""
        return not self.depends_on

    def first_difference(self) -> str:
        differences = self.judgement.differences
        text = str(differences[0]) if differences else "none"
        return "; ".join([*self.problems, text])

    def as_json(self) -> dict[str, Any]:
        found: dict[str, Any] = {
            "n": self.exchange.n,
            "note": self.exchange.note,
            "group": self.exchange.group,
            "request": f"{self.exchange.request.method} {self.exchange.request.target}",
            "verdict": str(self.verdict),
            "declared_by": list(self.judgement.declared_by),
            "reordered": self.judgement.reordered,
            "differences": [d.as_json() for d in self.judgement.differences],
        }
        if self.problems:
            found["problems"] = list(self.problems)
        if self.depends_on:
            found["depends_on"] = list(self.depends_on)
        if self.verdict is not Verdict.IDENTICAL:
            found["ours"] = {
                "status": self.answer.status,
                "headers": [list(pair) for pair in self.answer.headers],
                "body": self.answer.text(),
            }
        return found


@dataclass
class Tally:
    """How many exchanges got each verdict, and by which declaration."""

    exchanges: int = 0
    identical: int = 0
    reordered: int = 0
    declared: int = 0
    differing: int = 0
    declared_by: dict[str, int] = field(default_factory=dict)

    def add(self, judgement: Judgement) -> None:
        self.exchanges += 1
        if judgement.verdict is Verdict.IDENTICAL:
            self.identical += 1
            self.reordered += judgement.reordered
        elif judgement.verdict is Verdict.DECLARED:
            self.declared += 1
            for name in judgement.declared_by:
                self.declared_by[name] = self.declared_by.get(name, 0) + 1
        else:
            self.differing += 1

    def as_json(self) -> dict[str, Any]:
        return {
            "exchanges": self.exchanges,
            "identical": self.identical,
            "identical_order_free": self.reordered,
            "declared": self.declared,
            "declared_by": dict(sorted(self.declared_by.items())),
            "differing": self.differing,
        }


@dataclass
class Report:
    """Every result of one replay, and what the replay could not do."""

    transcript: str
    target: str
    controlled: bool
    results: list[Result] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def tally(self) -> Tally:
        tally = Tally()
        for result in self.results:
            tally.add(result.judgement)
        return tally

    def differing(self) -> list[Result]:
        return [r for r in self.results if r.verdict is Verdict.DIFFERING]

    @property
    def failed(self) -> bool:
        """Whether an exchange that could be judged strictly differs."""
        return any(r.strict for r in self.differing())

    def identical_share(self) -> float:
        return self.tally.identical / len(self.results) if self.results else 0.0

    def table(self) -> str:
        """The summary a person reads: the counts, then each differing exchange."""
        tally = self.tally
        width = len(str(tally.exchanges))
        declared = ", ".join(f"{k} {v}" for k, v in sorted(tally.declared_by.items()))
        lines = [
            f"Replay of {self.transcript} against {self.target}",
            "",
            f"  exchanges  {tally.exchanges:>{width}}",
            f"  identical  {tally.identical:>{width}}  ({self.identical_share():.1%}; of which "
            f"{tally.reordered} only up to the order of an x-unordered list)",
            f"  declared   {tally.declared:>{width}}" + (f"  ({declared})" if declared else ""),
            f"  differing  {tally.differing:>{width}}",
        ]
        loose = [r for r in self.results if not r.strict]
        if loose:
            kinds = [
                DEPENDENCY_NAMES.get(k, k) for k in sorted({d for r in loose for d in r.depends_on})
            ]
            named = ", ".join(kinds[:-1]) + " or " + kinds[-1] if len(kinds) > 1 else kinds[0]
            lines += ["", *_wrap(
                f"{len(loose)} exchanges depend on {named}, which this target did not let the "
                "replay control; their verdicts cannot be taken strictly, and they do not fail "
                "the replay: " + _ranges([r.exchange.n for r in loose])
            )]  # fmt: skip
        for note in self.notes:
            lines += _wrap(f"note: {note}", indent="        ")
        differing = self.differing()
        if differing:
            lines += ["", "Differing exchanges (n, note, first difference):"]
            for result in differing:
                mark = "" if result.strict else f" [depends on {', '.join(result.depends_on)}]"
                lines.append(
                    f"  n={result.exchange.n} {result.exchange.note}{mark}\n"
                    f"      {result.first_difference()}"
                )
        return "\n".join(lines) + "\n"

    def as_json(self) -> dict[str, Any]:
        return {
            "transcript": self.transcript,
            "target": self.target,
            "controlled": self.controlled,
            "counts": self.tally.as_json(),
            "notes": self.notes,
            "exchanges": [r.as_json() for r in self.results],
        }

    def write_json(self, path: Path) -> None:
        path.write_text(json.dumps(self.as_json(), indent=2, ensure_ascii=False) + "\n")


def _wrap(text: str, indent: str = "  ") -> list[str]:
    return textwrap.wrap(text, WIDTH, initial_indent="  ", subsequent_indent=indent)


def _ranges(numbers: Sequence[int]) -> str:
    """``1-3, 7, 9-10``."""
    spans: list[list[int]] = []
    for number in sorted(numbers):
        if spans and number == spans[-1][1] + 1:
            spans[-1][1] = number
        else:
            spans.append([number, number])
    return ", ".join(f"n={a}" if a == b else f"n={a}-{b}" for a, b in spans)
