"""The report: counts by verdict and declaration, the table, the JSON details."""

from __future__ import annotations

from esdc_api.replay import Exchange
from esdc_api.replay.answer import Answer
from esdc_api.replay.compare import ABSENT, Difference
from esdc_api.replay.report import Report, Result, _ranges
from esdc_api.replay.verdict import Judgement, Verdict

OURS = Answer(200, [("Content-Type", "application/json")], b"[]")


def report_of(exchanges: list[Exchange], *judgements: Judgement) -> Report:
    report = Report("transcript.jsonl", "the server", controlled=True)
    report.results = [Result(e, OURS, j) for e, j in zip(exchanges, judgements, strict=False)]
    return report


def test_the_counts_split_identical_order_free_declared_by_id_and_differing(
    exchanges: list[Exchange],
) -> None:
    report = report_of(
        exchanges,
        Judgement(Verdict.IDENTICAL),
        Judgement(Verdict.IDENTICAL, reordered=True),
        Judgement(Verdict.DECLARED, declared_by=("options-description",)),
        Judgement(Verdict.DECLARED, declared_by=("options-description",)),
        Judgement(Verdict.DECLARED, declared_by=("dc-nul",)),
        Judgement(Verdict.DIFFERING, [Difference("header:es_dc", ABSENT, "main")]),
    )
    assert report.tally.as_json() == {
        "exchanges": 6,
        "identical": 2,
        "identical_order_free": 1,
        "declared": 3,
        "declared_by": {"dc-nul": 1, "options-description": 2},
        "differing": 1,
    }
    table = report.table()
    assert "declared   3  (dc-nul 1, options-description 2)" in table
    assert "of which 1 only up to the order of an x-unordered list" in table
    assert f'  n=6 {exchanges[5].note}\n      header:es_dc: real (absent), ours "main"' in table
    assert report.failed


def test_the_json_details_give_our_answer_where_it_is_not_identical(
    exchanges: list[Exchange],
) -> None:
    report = report_of(
        exchanges,
        Judgement(Verdict.IDENTICAL),
        Judgement(Verdict.DIFFERING, [Difference("status", 403, 200)]),
    )
    first, second = report.as_json()["exchanges"]
    assert "ours" not in first
    assert second["ours"] == {"status": 200, "headers": [["Content-Type", "application/json"]],
                              "body": "[]"}  # fmt: skip
    assert second["differences"] == [{"field": "status", "real": 403, "ours": 200}]
    assert second["request"] == f"{exchanges[1].request.method} {exchanges[1].request.target}"


def test_a_difference_that_depends_on_what_was_not_controlled_does_not_fail(
    exchanges: list[Exchange],
) -> None:
    report = report_of(exchanges)
    report.results = [
        Result(
            exchanges[0],
            OURS,
            Judgement(Verdict.DIFFERING, [Difference("status", 1, 2)]),
            depends_on=("throttle",),
        )  # fmt: skip
    ]
    assert not report.failed
    assert "[depends on throttle]" in report.table()


def test_exchange_numbers_are_shown_as_ranges() -> None:
    assert _ranges([5, 1, 2, 3, 9, 10]) == "n=1-3, n=5, n=9-10"
