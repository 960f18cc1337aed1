"""Known deviations excuse exactly the documented differences and nothing near them."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from contract_tests.deviations import Answer, excuses
from contract_tests.facts import SpecFacts
from esdc_api.spec import load_spec


@pytest.fixture(scope="module")
def facts() -> SpecFacts:
    return SpecFacts(load_spec())


def answer(
    op: str,
    *,
    query: Mapping[str, str] = {},
    path: Mapping[str, str] = {},
    negative: frozenset[str] = frozenset({"query"}),
    status: int = 200,
    ctype: str = "application/json",
    text: str = "{}",
) -> Answer:
    return Answer(op, dict(path), dict(query), negative, status, ctype, text)


def test_show_running_yes_on_a_page_is_a_known_deviation(facts: SpecFacts) -> None:
    rule = excuses(
        "AcceptedNegativeData", answer("taskLog", query={"page": "1", "show_running": "yes"}), facts
    )
    assert rule is not None and rule.kind == "deviation"


def test_another_invalid_filter_beside_it_is_not_excused(facts: SpecFacts) -> None:
    query = {"page": "1", "show_running": "yes", "status": "FOO"}
    assert excuses("AcceptedNegativeData", answer("taskLog", query=query), facts) is None


def test_without_page_invalid_filters_are_allowed_not_deviations(facts: SpecFacts) -> None:
    rule = excuses("AcceptedNegativeData", answer("taskLog", query={"status": "FOO"}), facts)
    assert rule is not None and rule.kind == "allowance"


def test_a_plain_404_labelled_json_for_an_odd_task_id_is_a_known_deviation(
    facts: SpecFacts,
) -> None:
    odd = answer(
        "taskStatus",
        path={"task_id": "a_b"},
        negative=frozenset({"path"}),
        status=404,
        text="Resource not found",
    )
    assert excuses("MalformedJson", odd, facts) is not None


def test_the_same_answer_for_a_well_formed_id_is_not_excused(facts: SpecFacts) -> None:
    plain = answer(
        "taskStatus",
        path={"task_id": "3e3d1-8c2f4a17-5b3e-4d21-a9f0"},
        status=404,
        text="Resource not found",
    )
    assert excuses("MalformedJson", plain, facts) is None


def test_an_ignored_cancel_body_is_a_known_deviation_only_for_a_bad_body(facts: SpecFacts) -> None:
    body = answer("taskCancel", negative=frozenset({"body"}), status=406)
    path_and_body = answer("taskCancel", negative=frozenset({"path", "body"}), status=406)
    assert excuses("AcceptedNegativeData", body, facts) is not None
    assert excuses("AcceptedNegativeData", path_and_body, facts) is None
    assert excuses("UndefinedStatusCode", body, facts) is None
