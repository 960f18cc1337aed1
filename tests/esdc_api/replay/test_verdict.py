"""Identical, declared by the spec (a known defect, a deviation), or differing."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from esdc_api.replay.answer import Answer
from esdc_api.replay.compare import compare
from esdc_api.replay.normalize import Normalizer
from esdc_api.replay.routes import Routes
from esdc_api.replay.verdict import Judge, Judgement, Verdict, covers
from esdc_api.spec import Spec

JSON = ("Content-Type", "application/json")
SERVER_ERROR = Answer(500, [JSON], b"Server Error")


def answer(status: int, body: Any, *headers: tuple[str, str]) -> Answer:
    return Answer(status, [JSON, *headers], json.dumps(body).encode())


def judge(spec: Spec, method: str, target: str, real: Answer, ours: Answer) -> Judgement:
    request, route = Routes(spec).request(method, target, {}, None, "valid")
    comparison = compare(real, ours, Normalizer(datetime(2026, 12, 1, tzinfo=UTC)))
    return Judge(spec, "4.6").judge(request, route, real, ours, comparison)


def test_the_same_answer_is_identical_even_where_the_spec_declares_more(spec: Spec) -> None:
    options = answer(200, {"name": "Task List", "description": "x"}, ("Allow", "GET, OPTIONS"))
    verdict = judge(spec, "OPTIONS", "/api/task/", options, options)
    assert verdict.verdict is Verdict.IDENTICAL


def test_a_known_defect_answered_as_the_spec_prescribes_is_declared(spec: Spec) -> None:
    ours = answer(404, {"detail": "Datacenter not found"})
    verdict = judge(spec, "GET", "/api/task/?dc=%C4%8D", SERVER_ERROR, ours)
    assert verdict.verdict is Verdict.DECLARED
    assert verdict.declared_by == ("dc-not-ascii",)


def test_a_known_defect_answered_otherwise_than_the_spec_says_is_differing(spec: Spec) -> None:
    verdict = judge(spec, "GET", "/api/task/?dc=%C4%8D", SERVER_ERROR, answer(400, {"a": 1}))
    assert verdict.verdict is Verdict.DIFFERING
    first = str(verdict.differences[0])
    assert first.startswith('status: real "one of 200, 403, 404, 406, 429 (4.6 answers 500')
    assert "dc-not-ascii" in first


def test_a_known_defect_answered_with_a_body_the_schema_refuses_is_differing(spec: Spec) -> None:
    verdict = judge(spec, "GET", "/api/task/?dc=%C4%8D", SERVER_ERROR, answer(404, {"x": 1}))
    assert verdict.verdict is Verdict.DIFFERING
    assert "'detail' is a required property" in str(verdict.differences[0])


def test_a_500_that_no_defect_explains_is_differing(spec: Spec) -> None:
    ours = answer(404, {"detail": "Datacenter not found"})
    verdict = judge(spec, "GET", "/api/task/?dc=nosuch", SERVER_ERROR, ours)
    assert verdict.verdict is Verdict.DIFFERING


def test_differences_a_holding_deviation_allows_are_declared(spec: Spec) -> None:
    real = answer(200, {"name": "Task List", "description": "theirs"}, ("Allow", "GET, OPTIONS"))
    ours = answer(200, {"name": "Task List", "description": "ours"}, ("Allow", "GET, OPTIONS"))
    verdict = judge(spec, "OPTIONS", "/api/task/", real, ours)
    assert verdict.verdict is Verdict.DECLARED
    assert verdict.declared_by == ("options-description",)


def test_a_difference_outside_the_deviation_makes_it_differing_and_comes_first(
    spec: Spec,
) -> None:
    real = answer(200, {"name": "Task List", "description": "theirs"}, ("Allow", "GET, OPTIONS"))
    ours = answer(200, {"name": "Task List", "description": "ours"}, ("Allow", "OPTIONS, GET"))
    verdict = judge(spec, "OPTIONS", "/api/task/", real, ours)
    assert verdict.verdict is Verdict.DIFFERING
    assert [d.field for d in verdict.differences] == ["header:Allow", "/description"]


def test_a_deviation_whose_condition_fails_declares_nothing(spec: Spec) -> None:
    real = answer(200, {"description": "theirs"})
    verdict = judge(spec, "GET", "/api/task/", real, answer(200, {"description": "ours"}))
    assert verdict.verdict is Verdict.DIFFERING


@pytest.mark.parametrize(
    ("differs", "field", "covered"),
    [
        ("body", "/description", True),
        ("body", "order", True),
        ("body", "body", True),
        ("body", "status", False),
        ("body", "header:Allow", False),
        ("/description", "/description", True),
        ("/description", "/description/0", True),
        ("/description", "/descriptions", False),
        ("header:Location", "header:location", True),
        ("header:Location", "/Location", False),
        ("status", "status", True),
        ("order", "order", True),
        ("order", "/0", False),
    ],
)
def test_what_an_entry_of_differs_covers(differs: str, field: str, covered: bool) -> None:
    assert covers(differs, field) is covered
