"""The fidelity page: the replay's figure, and the spec's deviations and known defects.

The lists come from the spec's root (``x-deviations``, ``x-known-defects``), read by
:mod:`esdc_api.deviations` as the replay and the contract suite read them, so the page cannot
list anything else. The figure is the one the page states in its ``esdc-replay-figure``
directive; the docs build cannot always reach the recording, so ``tests/test_replay.py``
replays it and compares its counts with the page's (:func:`figure_in`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from esdc_api.deviations import When, deviations, known_defects
from esdc_api.docs.markdown import inline_to_rst, to_rst
from esdc_api.spec import Spec

#: The options of ``.. esdc-replay-figure::``, each a count but ``declared-by`` and ``measured``.
FIGURE_OPTIONS = ("exchanges", "identical", "order-free", "declared", "declared-by",
                  "differing", "measured")  # fmt: skip


#: How each predicate of a condition (:mod:`esdc_api.deviations`) reads on the page.
PREDICATE_WORDS = {
    "value": {"non-ascii": "is not ASCII", "nul": "holds a NUL character",
              "container": "is a list or an object", "any": "is anything"},
    "body": {"non-object-json": "JSON that is not an object"},
    "accept": {"not-json": "excludes JSON"},
    "credentials": {"invalid": "invalid credentials", "none": "no credentials"},
}  # fmt: skip


@dataclass(frozen=True)
class Figure:
    """What a replay of the recording counted, as the fidelity page states it."""

    exchanges: int
    identical: int
    order_free: int
    declared: int
    differing: int
    declared_by: Mapping[str, int] = field(default_factory=dict)
    measured: str = ""

    def counts(self) -> dict[str, Any]:
        """The counts alone, as :meth:`esdc_api.replay.report.Tally.as_json` names them."""
        return {
            "exchanges": self.exchanges,
            "identical": self.identical,
            "identical_order_free": self.order_free,
            "declared": self.declared,
            "declared_by": dict(sorted(self.declared_by.items())),
            "differing": self.differing,
        }


def parse_figure(options: Mapping[str, str]) -> Figure:
    """The figure a directive's options state.

    :raises ValueError: when a count is missing or not a number, or they do not add up.
    """
    counts = {}
    for name in ("exchanges", "identical", "order-free", "declared", "differing"):
        value = str(options.get(name, "")).strip()
        if not value.isdigit():
            raise ValueError(f":{name}: must be a count, not {value!r}")
        counts[name] = int(value)
    declared_by = {}
    for part in filter(None, (p.strip() for p in str(options.get("declared-by", "")).split(","))):
        found = re.fullmatch(r"(\S+)\s+(\d+)", part)
        if found is None:
            raise ValueError(f":declared-by: entries are 'id count', not {part!r}")
        declared_by[found.group(1)] = int(found.group(2))
    figure = Figure(
        exchanges=counts["exchanges"],
        identical=counts["identical"],
        order_free=counts["order-free"],
        declared=counts["declared"],
        differing=counts["differing"],
        declared_by=declared_by,
        measured=str(options.get("measured", "")).strip(),
    )
    if figure.identical + figure.declared + figure.differing != figure.exchanges:
        raise ValueError("identical, declared and differing must add up to the exchanges")
    if figure.order_free > figure.identical:
        raise ValueError(":order-free: counts identical exchanges; it cannot be more")
    return figure


def figure_in(page: str) -> Figure:
    """The figure stated by the ``esdc-replay-figure`` directive of a page's reST."""
    found = re.search(r"^\.\. esdc-replay-figure::\n((?:[ \t]+:[^\n]*\n?)+)", page, re.M)
    if found is None:
        raise ValueError("the page has no esdc-replay-figure directive")
    options = dict(re.findall(r"^[ \t]+:([a-z-]+):[ \t]*(.*)$", found.group(1), re.M))
    return parse_figure(options)


def figure_rst(figure: Figure, spec: Spec) -> str:
    """The figure as a table, each declaration linked to its entry."""
    ids = {d.id: "deviation" for d in deviations(spec)} | {
        d.id: "defect" for d in known_defects(spec)
    }
    unknown = sorted(set(figure.declared_by) - set(ids))
    if unknown:
        raise ValueError(
            f":declared-by: names {', '.join(unknown)}, which the spec does not declare"
        )

    def share(count: int) -> str:
        return f"{count / figure.exchanges:.1%}" if figure.exchanges else "–"

    declared = ", ".join(
        f":ref:`{name} <{ids[name]}-{name}>` {count}"
        for name, count in sorted(figure.declared_by.items())
    )
    caption = f"The replay of the {figure.exchanges} recorded exchanges"
    caption += f" ({figure.measured})" if figure.measured else ""
    rows = [
        ("Identical", f"{figure.identical}", share(figure.identical),
         f"of which {figure.order_free} only up to the order of a list the spec calls "
         "unordered"),
        ("Declared", f"{figure.declared}", share(figure.declared), declared or "–"),
        ("Differing", f"{figure.differing}", share(figure.differing), "–"),
    ]  # fmt: skip
    lines = [f".. list-table:: {caption}", "   :header-rows: 1", "   :widths: 12 10 10 68", "",
             "   * - Verdict", "     - Exchanges", "     - Share", "     - Details"]  # fmt: skip
    for row in rows:
        lines += [f"   * - {row[0]}", *(f"     - {cell}" for cell in row[1:])]
    return "\n".join(lines) + "\n"


def when_rst(when: When) -> str:
    """A deviation's or defect's condition in words."""
    raw = when.raw
    parts = []
    if "operation" in raw:
        names = [raw["operation"]] if isinstance(raw["operation"], str) else raw["operation"]
        label = "operation " if len(names) == 1 else "operations "
        parts.append(label + ", ".join(f"``{n}``" for n in names))
    if "method" in raw:
        parts.append(f"method ``{str(raw['method']).upper()}``")
    if "path" in raw:
        parts.append(f"path ``{raw['path']}``")
    if "parameter" in raw:
        value = _words("value", raw.get("value", "any"))
        parts.append(f"a value of the parameter ``{raw['parameter']}`` that {value}")
    if raw.get("also"):
        parts.append(", ".join(f"``{n}``" for n in raw["also"]) + " given too")
    if "body" in raw:
        parts.append(f"a body of {_words('body', raw['body'])}")
    if "accept" in raw:
        parts.append(f"an ``Accept`` header that {_words('accept', raw['accept'])}")
    if "credentials" in raw:
        parts.append(_words("credentials", raw["credentials"]))
    return "; ".join(parts) or "always"


def deviations_rst(spec: Spec) -> str:
    """Each ``x-deviations`` entry: what, why, when, and what may differ."""
    lines: list[str] = []
    for entry in deviations(spec):
        differs = ", ".join(f"``{d}``" for d in entry.differs)
        lines += [f".. _deviation-{entry.id}:", "", f"``{entry.id}``",
                  f"   {_summary(entry.summary)}", "",
                  *_indented(to_rst(entry.reason)), "",
                  f"   *When:* {when_rst(entry.when)}.", "",
                  f"   *What differs:* {differs}.", ""]  # fmt: skip
    return "\n".join(lines) or "The spec declares no deviation.\n"


def known_defects_rst(spec: Spec) -> str:
    """Each ``x-known-defects`` entry: what, the versions, why, when, and the real answer."""
    lines: list[str] = []
    for entry in known_defects(spec):
        real = entry.real
        answer = f"``{real.get('status')}``"
        if "content-type" in real:
            answer += f" ``{real['content-type']}``"
        if "body" in real:
            answer += f" with the body ``{real['body']}``"
        versions = ", ".join(entry.versions) or "every version"
        lines += [f".. _defect-{entry.id}:", "", f"``{entry.id}`` ({versions})",
                  f"   {_summary(entry.summary)}", "",
                  *_indented(to_rst(entry.cause)), "",
                  f"   *When:* {when_rst(entry.when)}.", "",
                  f"   *The real answer:* {answer}.", ""]  # fmt: skip
    return "\n".join(lines) or "The spec declares no known defect.\n"


def _words(key: str, predicate: Any) -> str:
    return PREDICATE_WORDS[key].get(str(predicate), str(predicate))


def _summary(text: str) -> str:
    return inline_to_rst(" ".join(text.split()))


def _indented(text: str) -> list[str]:
    return [f"   {line}" if line else "" for line in text.rstrip("\n").splitlines()]
