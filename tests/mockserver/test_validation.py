"""The task log's and the statistics' parameters, read by the spec's rules as real deployments
read them (``../shared/reference/real-4.6/transcript.jsonl``, cited by ``n``), by direct calls."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from starlette.datastructures import QueryParams

from esdc_api.spec import load_spec
from mockserver.bodies import BodyRules
from mockserver.errors import ApiError
from mockserver.validation import ParameterRules, boolean_value, parse_date

DATE_MESSAGE = "Date has wrong format. Use one of these formats instead: YYYY[-MM[-DD]]"
NEEDS_TYPE = "object_type attribute is required when filtering by object_name."


def rules(path: str) -> ParameterRules:
    return ParameterRules(load_spec()["paths"][path]["get"]["parameters"])


def log(query: str) -> dict[str, Any]:
    return rules("/task/log/").validate({}, QueryParams(query))


def refusal(query: str, path: str = "/task/log/") -> tuple[int, Any]:
    with pytest.raises(ApiError) as caught:
        rules(path).validate({}, QueryParams(query))
    return int(caught.value.status), caught.value.body()


@pytest.mark.parametrize(
    ("query", "value"),
    [
        ("show_running=yes", True),  # n=241
        ("show_running=maybe", True),  # n=219
        ("show_running=1", True),  # n=218
        ("show_running=FALSE", False),
        ("hide_auto=no", True),  # n=242
        ("hide_auto=false", False),  # n=221
        ("hide_auto=f", False),
    ],
)
def test_a_boolean_is_false_only_for_the_false_spellings(query: str, value: bool) -> None:
    """n=218-221, 241, 242 (F10)."""
    name = query.split("=")[0]
    assert log(f"page=1&{query}")[name] is value


@pytest.mark.parametrize(
    ("raw", "parsed"),
    [
        ("2026-1-5", date(2026, 1, 5)),
        ("2999-1-5", date(2999, 1, 5)),
        ("2000-01-01", date(2000, 1, 1)),
    ],
)
def test_dates_are_read_as_djangos_parse_date_reads_them(raw: str, parsed: date) -> None:
    """n=222, 243, 244 (F10): one-digit months and days."""
    assert log(f"page=1&date_from={raw}")["date_from"] == raw
    assert parse_date(raw) == parsed


@pytest.mark.parametrize("raw", ["notadate", "2020-13-45", "2026-01-05T10:00:00", "26-1-5"])
def test_a_bad_date_has_the_real_message_without_a_final_period(raw: str) -> None:
    """n=225, 226, 256 (F10)."""
    assert refusal(f"page=1&date_from={raw}") == (400, {"date_from": [DATE_MESSAGE]})


@pytest.mark.parametrize(
    "raw", ["time", "-time", "%2Btime", "+time", "%20time", "time,-time", "-time,time", ""]
)
def test_order_by_takes_comma_lists_signs_and_spaces(raw: str) -> None:
    """n=227-231, 245-249 (F10)."""
    log(f"page=1&order_by={raw}")


@pytest.mark.parametrize("raw", ["bad", "status", "time,", "- time", "time;-time"])
def test_another_order_by_is_412(raw: str) -> None:
    """n=229, 232."""
    assert refusal(f"page=1&order_by={raw}") == (
        412,
        {"detail": "Invalid order_by; Possible sort fields are: time"},
    )


def test_object_name_over_2048_characters_has_djangos_message() -> None:
    """n=251, 252 (F10)."""
    log(f"page=1&object_type=vm&object_name={'x' * 2048}")
    assert refusal(f"page=1&object_type=vm&object_name={'x' * 2049}") == (
        400,
        {"object_name": ["Ensure this value has at most 2048 characters (it has 2049)."]},
    )


@pytest.mark.parametrize(
    ("query", "errors"),
    [
        ("page=1&object_name=web", {"object_type": [NEEDS_TYPE]}),  # n=253
        (  # n=254
            "page=1&object_name=web&status=BAD",
            {"status": ["Select a valid choice. BAD is not one of the available choices."]},
        ),
        (  # n=255
            "page=1&object_name=web&object_type=bad",
            {"object_type": ["Select a valid choice. bad is not one of the available choices."]},
        ),
        ("page=1&object_name=%00", {"object_type": [NEEDS_TYPE]}),  # n=279
    ],
)
def test_object_name_without_object_type_counts_only_without_other_errors(
    query: str, errors: dict[str, list[str]]
) -> None:
    """n=253-255, 279 (F10): the real form's validate() runs only when no field failed."""
    assert refusal(query) == (400, errors)


def test_blank_filters_are_no_filters() -> None:
    """n=238, 250: status=&object_type=&date_from= filter nothing."""
    assert log("page=1&status=&object_type=&date_from=&show_running=") == {"page": 1}


def test_a_repeated_parameter_counts_with_its_last_value() -> None:
    """n=258, 259: Django's QueryDict.get."""
    assert log("page=1&status=SUCCESS&status=PENDING")["status"] == "PENDING"
    assert log("page=1&page=2")["page"] == 2


@pytest.mark.parametrize("raw", ["abc", "", "1.5", "1_000", "%C4%8D"])
def test_a_last_that_is_not_an_integer_is_412(raw: str) -> None:
    """n=305-307, 312."""
    assert refusal(f"last={raw}", "/task/log/stats/") == (
        412,
        {"detail": 'Invalid "last" parameter'},
    )


@pytest.mark.parametrize("raw", ["0", "-1", "-100", " 60 ", "+60"])
def test_a_last_python_reads_as_an_integer_is_taken(raw: str) -> None:
    """n=301-303: int() of the value."""
    rules("/task/log/stats/").validate({}, QueryParams(f"last={raw}"))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("yes", True),
        ("no", True),
        ("0", False),
        ("F", False),
        ("", False),
        (None, False),
        (0, False),
        (0.0, False),
        (2, True),
        (True, True),
        ([1], False),
        ({"a": 1}, False),
    ],
)
def test_boolean_value_reads_as_django_rest_framework_reads(value: object, expected: bool) -> None:
    """n=339, 351, 354 (F10): containers are a 500 there, false here."""
    assert boolean_value(value) is expected


def _body(path: str, method: str) -> BodyRules:
    return BodyRules(load_spec()["paths"][path][method]["requestBody"])


@pytest.mark.parametrize(
    ("content_type", "raw"),
    [
        ("application/x-www-form-urlencoded", b"force=true"),  # n=335
        ("application/json", b"{bad json"),  # n=336
        ("text/plain", b"force"),  # n=337
        ("application/json", b"[1]"),  # n=338, x-known-defects body-not-an-object
        (None, b'{"force": true}'),
    ],
)
def test_an_unreadable_cancel_body_reads_as_empty(content_type: str | None, raw: bytes) -> None:
    assert _body("/task/{task_id}/cancel/", "put").read(content_type, raw) == {}


def test_a_cancel_body_keeps_only_its_fields_read_as_the_real_serializer_reads() -> None:
    body = _body("/task/{task_id}/cancel/", "put")
    assert body.read("application/json; charset=utf-8", b'{"force": "no", "dc": 5, "x": 1}') == {
        "force": True,
        "dc": "5",
    }


def test_an_empty_login_body_names_both_fields() -> None:
    """n=359, 360."""
    with pytest.raises(ApiError) as caught:
        _body("/accounts/login/", "post").read(None, b"")
    assert caught.value.body() == {
        "detail": {"username": ["This field is required."], "password": ["This field is required."]}
    }
    assert caught.value.plain
