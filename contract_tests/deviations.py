"""Answers that differ from the schema but not from the spec, and how each is judged.

Two kinds, both narrow enough that anything else still fails, and both readings of what the
spec says in its words (a parameter's or a response's description), not a list of their own:

- **known deviations**: answers the spec's words give real deployments where its schemas say
  otherwise (``show_running=yes`` read as true, a plain 404 labelled JSON). They do not fail a
  run; the summary lists them, so the operator knows.
- **allowances**: behaviour the spec states in words that its schemas cannot express. They are
  not differences at all, and are only counted.

Schemathesis's checks see every answer through :func:`excuses` (a ``filter_failure`` hook);
the named checks ask an excuse directly. Known defects of a version (a 500 where the spec
gives another answer) and the reference server's own deviations are not here: they live in
the spec's ``x-known-defects`` and ``x-deviations`` (:mod:`esdc_api.deviations`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from jsonschema import Draft4Validator

from contract_tests.facts import SpecFacts

#: How real deployments spell booleans in the query (``get_boolean_value``); the spec's
#: ShowRunning parameter describes it, and any other non-empty value reads as true.
TRUE_SPELLINGS = frozenset({"t", "T", "true", "True", "TRUE", "1"})
FALSE_SPELLINGS = frozenset({"f", "F", "false", "False", "FALSE", "0"})


@dataclass(frozen=True)
class Answer:
    """A request and its answer, in the terms the rules need."""

    operation_id: str | None
    path_params: Mapping[str, str]
    query: Mapping[str, str]
    negative_in: frozenset[str]  # where the request was built invalid on purpose: path, query, body
    status: int
    content_type: str
    text: str


Applies = Callable[[Answer, SpecFacts], bool]


@dataclass(frozen=True)
class Excuse:
    """One excused difference.

    :param failures: the schemathesis failures it may excuse, by class name; ``None`` for any.
    """

    name: str
    kind: Literal["deviation", "allowance"]
    description: str
    applies: Applies
    failures: frozenset[str] | None = None

    def __repr__(self) -> str:
        return f"Excuse({self.name!r}, {self.kind})"


def _valid_value(raw: str, param: dict[str, Any]) -> bool:
    if raw == "" and param.get("allowEmptyValue"):
        return True
    schema = param["schema"]
    value: Any = raw
    if schema.get("type") == "integer":
        try:
            value = int(raw)
        except ValueError:
            return False
    elif schema.get("type") == "boolean":
        return raw in TRUE_SPELLINGS | FALSE_SPELLINGS
    if schema.get("format") == "date":
        try:
            date.fromisoformat(raw)
        except ValueError:
            return False
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
            return False
    return not any(Draft4Validator(schema).iter_errors(value))


def query_is_valid(
    facts: SpecFacts,
    operation_id: str,
    query: Mapping[str, str],
    *,
    ignore: frozenset[str] = frozenset(),
) -> bool:
    """Whether every query parameter except ``ignore`` is one the spec accepts."""
    params = {
        p["name"]: p
        for p in facts.operation(operation_id).definition.get("parameters", [])
        if p["in"] == "query"
    }
    for name, raw in query.items():
        if name in ignore:
            continue
        if name not in params or not _valid_value(str(raw), params[name]):
            return False
    return True


def _not_routed_as_json(answer: Answer, facts: SpecFacts) -> bool:
    odd_id = any(
        not facts.task_id_url_pattern.match(value) for value in answer.path_params.values()
    )
    return (
        odd_id
        and answer.status == 404
        and answer.content_type.startswith("application/json")
        and answer.text.strip() == facts.not_routed_body
    )


def _lenient(names: frozenset[str], odd: Callable[[str], bool]) -> Applies:
    """Excuses a 2xx of the paged log whose only invalid filters are ``names``, each ``odd``
    as real deployments read it."""

    def applies(answer: Answer, facts: SpecFacts) -> bool:
        found = [name for name in names if answer.query.get(name) not in (None, "")]
        return (
            answer.operation_id == "taskLog"
            and answer.query.get("page", "") != ""  # without page no filter is read at all
            and 200 <= answer.status < 300
            and bool(found)
            and all(odd(answer.query[name]) for name in found)
            and answer.negative_in <= {"query"}
            and query_is_valid(facts, "taskLog", answer.query, ignore=names)
        )

    return applies


def _any_boolean(value: str) -> bool:
    return True  # any non-empty value reads as true


def _short_date(value: str) -> bool:
    """Django's parse_date: one or two digits of month and day (2026-1-5)."""
    match = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", value)
    if match is None:
        return False
    try:
        date(*(int(part) for part in match.groups()))
    except ValueError:
        return False
    return True


def _order_list(value: str) -> bool:
    """A comma list of sort fields, with spaces (`time,-time`, ` time`)."""
    return all(part.strip().lstrip("+-") == "time" for part in value.split(","))


def _body_ignored(answer: Answer, facts: SpecFacts) -> bool:
    return answer.operation_id in {"taskCancel", "taskDelete"} and answer.negative_in == {"body"}


def _filters_without_page(answer: Answer, facts: SpecFacts) -> bool:
    return (
        answer.operation_id == "taskLog"
        and 200 <= answer.status < 300
        and answer.query.get("page") in (None, "")
        and answer.negative_in <= {"query"}
    )


NOT_ROUTED_AS_JSON = Excuse(
    "not-routed-404-labelled-json",
    "deviation",
    "A task id with characters outside A-Z a-z 0-9 - matches no URL; the plain-text 404 "
    "'Resource not found' comes labelled application/json (spec: TaskId parameter, 404 "
    "responses).",
    _not_routed_as_json,
)
LENIENT_BOOLEANS = Excuse(
    "lenient-booleans",
    "deviation",
    "show_running and hide_auto read any non-empty value (show_running=yes) as true instead of "
    "answering 400 (spec: ShowRunning parameter).",
    _lenient(frozenset({"show_running", "hide_auto"}), _any_boolean),
    frozenset({"AcceptedNegativeData"}),
)
LENIENT_DATES = Excuse(
    "lenient-dates",
    "deviation",
    "date_from and date_to read a one-digit month or day (2026-1-5) as the date instead of "
    "answering 400 (spec: DateFrom parameter; Django's parse_date).",
    _lenient(frozenset({"date_from", "date_to"}), _short_date),
    frozenset({"AcceptedNegativeData"}),
)
ORDER_BY_LISTS = Excuse(
    "order-by-lists",
    "deviation",
    "order_by reads a comma list of sort fields, spaces allowed (time,-time), instead of "
    "answering 412 (spec: OrderBy parameter).",
    _lenient(frozenset({"order_by"}), _order_list),
    frozenset({"AcceptedNegativeData"}),
)
BODY_IGNORED = Excuse(
    "cancel-body-ignored",
    "deviation",
    "A cancel or delete body that is not JSON, or has a force that is not a boolean, is ignored "
    "instead of answered with 400 (spec: TaskCancelRequest, the 400 of cancel and delete).",
    _body_ignored,
    frozenset({"AcceptedNegativeData"}),
)
FILTERS_WITHOUT_PAGE = Excuse(
    "filters-ignored-without-page",
    "allowance",
    "Without page the task log answers its last entries and ignores every filter, valid or not "
    "(spec: Page parameter); a 200 for an invalid filter there is right.",
    _filters_without_page,
    frozenset({"AcceptedNegativeData"}),
)
EXCUSES = (
    NOT_ROUTED_AS_JSON,
    LENIENT_BOOLEANS,
    LENIENT_DATES,
    ORDER_BY_LISTS,
    BODY_IGNORED,
    FILTERS_WITHOUT_PAGE,
)


def excuses(failure_type: str, answer: Answer, facts: SpecFacts) -> Excuse | None:
    """The excuse for this failure of this answer, if there is one."""
    for rule in EXCUSES:
        if (rule.failures is None or failure_type in rule.failures) and rule.applies(answer, facts):
            return rule
    return None
