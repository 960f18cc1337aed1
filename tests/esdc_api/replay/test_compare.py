"""Comparing our answer with the recorded one: status, the headers that matter, the body."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from esdc_api.replay.answer import Answer
from esdc_api.replay.compare import ABSENT, compare
from esdc_api.replay.normalize import Normalizer

NORMALIZER = Normalizer(datetime(2026, 12, 1, 10, 14, 26, tzinfo=UTC))
JSON = ("Content-Type", "application/json")
UNORDERED = {"type": "array", "x-unordered": True, "items": {"type": "string"}}


def answer(body: Any, *headers: tuple[str, str], status: int = 200) -> Answer:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return Answer(status, [JSON, *headers], raw)


def fields(real: Answer, ours: Answer, schema: Any = None) -> list[str]:
    return [d.field for d in compare(real, ours, NORMALIZER, schema).differences]


def test_the_same_answer_is_identical_whatever_the_key_order_and_spacing() -> None:
    real = answer(b'{"a":1,"b":[1,2]}', ("es_dc", "main"))
    ours = answer(b'{"b": [1, 2], "a": 1.0}', ("ES_DC", "main"))
    assert compare(real, ours, NORMALIZER).identical


def test_differences_come_status_first_then_headers_then_body() -> None:
    real = answer({"detail": "a"}, ("es_dc", "main"), status=403)
    ours = answer({"detail": "b"}, ("es_dc", "admin"), status=404)
    assert fields(real, ours) == ["status", "header:es_dc", "/detail"]


def test_a_header_in_one_answer_only_is_a_difference_and_says_which() -> None:
    (difference,) = compare(answer([]), answer([], ("es_dc", "main")), NORMALIZER).differences
    assert (difference.field, difference.real, difference.ours) == ("header:es_dc", ABSENT, "main")
    assert str(difference) == 'header:es_dc: real (absent), ours "main"'


def test_any_cors_header_counts_and_date_or_server_do_not() -> None:
    real = answer([], ("Date", "Tue"), ("Server", "Esdc/ce:4.6"))
    ours = answer([], ("date", "Wed"), ("Access-Control-Allow-Origin", "*"))
    assert fields(real, ours) == ["header:access-control-allow-origin"]


def test_true_is_not_one_and_null_is_not_absent() -> None:
    assert fields(answer({"a": True}), answer({"a": 1})) == ["/a"]
    assert fields(answer({"a": None}), answer({})) == ["/a"]
    assert fields(answer({}), answer({"a/b": 1})) == ["/a~1b"]


def test_a_body_that_was_not_json_compares_byte_for_byte() -> None:
    real = Answer(500, [JSON], b"Server Error")
    assert compare(real, Answer(500, [JSON], b"Server Error"), NORMALIZER).identical
    assert fields(real, Answer(500, [JSON], b"Server error")) == ["body"]


def test_a_recorded_json_body_answered_with_text_is_a_body_difference() -> None:
    assert fields(answer({"detail": "x"}), Answer(200, [JSON], b"detail: x")) == ["body"]


def test_an_unordered_array_compares_as_a_multiset_and_says_it_was_reordered() -> None:
    comparison = compare(answer(["a", "b", "c"]), answer(["c", "a", "b"]), NORMALIZER, UNORDERED)
    assert comparison.identical and comparison.reordered
    assert not compare(answer(["a"]), answer(["a"]), NORMALIZER, UNORDERED).reordered
    assert fields(answer(["a", "a"]), answer(["a", "b"]), UNORDERED) == ["body"]


def test_an_ordered_array_in_another_order_is_an_order_difference() -> None:
    assert fields(answer(["a", "b"]), answer(["b", "a"])) == ["order"]
    assert fields(answer({"r": [1, 2]}), answer({"r": [2, 1]})) == ["/r"]


def test_an_unordered_array_inside_the_body_is_found_through_the_schema() -> None:
    schema = {"type": "object", "properties": {"ids": UNORDERED}}
    comparison = compare(answer({"ids": ["a", "b"]}), answer({"ids": ["b", "a"]}), NORMALIZER,
                         schema)  # fmt: skip
    assert comparison.identical and comparison.reordered


def test_arrays_of_another_length_name_the_missing_items() -> None:
    assert fields(answer([{"a": 1}, {"a": 2}]), answer([{"a": 1}])) == ["/1"]
    assert fields(answer([{"a": 1}]), answer([{"a": 3}])) == ["/0/a"]


def test_volatile_values_match_their_kind_only() -> None:
    real = answer({"token": "a" * 40, "expires": "2026-12-01T11:14:30Z"})
    assert compare(
        real, answer({"token": "b" * 40, "expires": "2026-12-01T11:15:00Z"}), NORMALIZER
    ).identical
    assert fields(real, answer({"token": "b" * 40, "expires": "2026-12-01T09:00:00Z"})) == [
        "/expires"
    ]
    assert fields(real, answer({"token": None, "expires": "2026-12-01T11:15:00Z"})) == ["/token"]


def test_retry_after_differs_only_beyond_a_second() -> None:
    real = answer({}, ("Retry-After", "60"))
    assert compare(real, answer({}, ("Retry-After", "59")), NORMALIZER).identical
    assert fields(real, answer({}, ("Retry-After", "21"))) == ["header:Retry-After"]
