"""The verdict on one replayed exchange: identical, declared or differing.

- **identical**: no difference once the volatile values are normalized (an array the spec
  calls unordered may hold its items in another order).
- **declared**: the recorded answer is a known defect of the recorded version
  (``x-known-defects``) and ours is what the spec prescribes; or a deviation of the spec
  (``x-deviations``) holds for the request and every difference is among what it ``differs``
  in (several holding deviations may share the differences). A deviation that allows more
  than what actually differs still declares the exchange.
- **differing**: anything else. Differences no deviation explains come first.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from openapi_schema_validator import OAS30Validator

from esdc_api.deviations import Deviation, KnownDefect, Request, defect_for, deviations
from esdc_api.replay.answer import NOT_JSON, Answer
from esdc_api.replay.compare import Comparison, Difference
from esdc_api.replay.routes import Route
from esdc_api.spec import Spec


class Verdict(enum.StrEnum):
    IDENTICAL = "identical"
    DECLARED = "declared"
    DIFFERING = "differing"


@dataclass(frozen=True)
class Judgement:
    """A verdict with its reasons.

    :param differences: every difference, those that no declaration explains first.
    :param declared_by: the ids of the known defect or the deviations that declare it.
    :param reordered: an unordered array held its items in another order.
    """

    verdict: Verdict
    differences: Sequence[Difference] = ()
    declared_by: tuple[str, ...] = ()
    reordered: bool = False


def covers(differs: str, field_name: str) -> bool:
    """Whether an entry of a deviation's ``differs`` allows a difference in ``field_name``."""
    if differs.startswith("header:") or field_name.startswith("header:"):
        return differs.lower() == field_name.lower()
    if differs == "body":
        return field_name in ("body", "order") or field_name.startswith("/")
    if differs.startswith("/"):
        return field_name == differs or field_name.startswith(differs + "/")
    return differs == field_name


class Judge:
    """Judges exchanges by one spec's declarations, for answers of one Danube Cloud version."""

    def __init__(self, spec: Spec, version: str | None) -> None:
        self.spec = spec
        self.version = version
        self.deviations = deviations(spec)

    def judge(
        self, request: Request, route: Route | None, real: Answer, ours: Answer,
        comparison: Comparison,
    ) -> Judgement:  # fmt: skip
        if comparison.identical:
            return Judgement(Verdict.IDENTICAL, reordered=comparison.reordered)
        defect = defect_for(self.spec, request, real.status, self.version)
        if defect is not None:
            return self._defect(defect, route, ours, comparison)
        holding = [d for d in self.deviations if d.when.holds(request)]
        return self._deviations(holding, comparison)

    def _defect(
        self, defect: KnownDefect, route: Route | None, ours: Answer, comparison: Comparison
    ) -> Judgement:
        problems = prescribed(route, ours, defect)
        if problems:
            return Judgement(Verdict.DIFFERING, [*problems, *comparison.differences])
        return Judgement(Verdict.DECLARED, comparison.differences, (defect.id,))

    def _deviations(self, holding: list[Deviation], comparison: Comparison) -> Judgement:
        differences = comparison.differences
        allowed = [x for h in holding for x in h.differs]
        unexplained = [d for d in differences if not any(covers(x, d.field) for x in allowed)]
        if unexplained:
            rest = [d for d in differences if d not in unexplained]
            return Judgement(Verdict.DIFFERING, [*unexplained, *rest])
        used = tuple(
            h.id for h in holding if any(covers(x, d.field) for x in h.differs for d in differences)
        )
        return Judgement(Verdict.DECLARED, differences, used)


def prescribed(route: Route | None, ours: Answer, defect: KnownDefect) -> list[Difference]:
    """How ``ours`` departs from what the spec prescribes where 4.6 has ``defect``.

    The spec prescribes one of the operation's responses: its status, a content type it
    lists, and a body its schema accepts. A request no operation of the spec is for only
    must not get the defect's answer.
    """
    note = f"(4.6 answers {defect.real_status}: known defect {defect.id})"
    if route is None or route.operation is None:
        if ours.status == defect.real_status:
            return [Difference("status", f"not {defect.real_status} {note}", ours.status)]
        return []
    responses: Mapping[str, Any] = route.operation.get("responses", {})
    response = responses.get(str(ours.status), responses.get("default"))
    if response is None or ours.status == defect.real_status:
        listed = ", ".join(k for k in responses if k != "default")
        return [Difference("status", f"one of {listed} {note}", ours.status)]
    content: Mapping[str, Any] = response.get("content") or {}
    if not content:
        return []
    media = (ours.header("Content-Type") or "").split(";")[0].strip()
    if media not in content:
        return [Difference("header:Content-Type", f"one of {', '.join(content)} {note}", media)]
    schema = content[media].get("schema")
    body = ours.json()
    if schema is None or media != "application/json":
        return []
    if body is NOT_JSON:
        return [Difference("body", f"JSON {note}", ours.text())]
    error = next(iter(OAS30Validator(schema).iter_errors(body)), None)
    if error is None:
        return []
    pointer = "".join(f"/{part}" for part in error.absolute_path) or "body"
    return [Difference(pointer, f"what the spec's schema allows: {error.message} {note}", body)]
