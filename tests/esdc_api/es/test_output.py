"""What es prints: the envelope, and the tables of --csv and --tabulate."""

from __future__ import annotations

from typing import Any

import pytest

from esdc_api.es.client import Reply
from esdc_api.es.output import FORMATS, envelope, results


def reply(text: Any, status: int = 200, method: str = "GET") -> Reply:
    return Reply(method=method, url="http://127.0.0.1:8000/api/task/", status=status, text=text)


def test_the_envelope_has_the_docs_key_order_and_four_space_indent() -> None:
    assert envelope(reply(["a"]), {}) == (
        "{\n"
        '    "url": "http://127.0.0.1:8000/api/task/",\n'
        '    "status": 200,\n'
        '    "method": "GET",\n'
        '    "text": [\n'
        '        "a"\n'
        "    ]\n"
        "}\n"
    )


def test_help_prints_only_the_description() -> None:
    assert envelope(reply({"description": "Docs."}, method="OPTIONS"), {}) == "Docs.\n"


def test_tables_show_the_result_of_a_2xx_answer() -> None:
    assert results(reply({"result": {"a": 1}, "status": "SUCCESS"})) == {"a": 1}
    assert results(reply({"results": [1]})) == [1]


def test_tables_show_a_4xx_answer_whole() -> None:
    assert results(reply({"result": "x"}, status=400)) == {"result": "x"}


def test_csv_of_a_list_of_dicts_has_a_header_row_and_semicolons() -> None:
    text = [{"id": 1, "tags": ["a", "b"], "meta": {"k": None}}, {"id": 2, "tags": [], "x": 1}]
    assert FORMATS["csv"](reply({"results": text}), {}) == (
        "id;tags;meta\r\n1;a,b;k: None\r\n2;;\r\n"
    )


def test_csv_quotes_a_field_holding_the_delimiter() -> None:
    assert FORMATS["csv"](reply(["a;b", None, True]), {}) == '"a;b"\r\n""\r\nTrue\r\n'


def test_tabulate_aligns_strings_left_and_numbers_right() -> None:
    text = [{"name": "alpha", "size": 5}, {"name": "b", "size": 1024}]
    assert FORMATS["tabulate"](reply(text), {}) == (
        "name   size\n-----  ----\nalpha     5\nb      1024\n"
    )


def test_tabulate_of_a_dict_has_key_value_rows_between_rules() -> None:
    assert FORMATS["tabulate"](reply({"status": "PENDING", "done": None}), {}) == (
        "------  -------\nstatus  PENDING\ndone\n------  -------\n"
    )


def test_a_null_result_prints_as_none_as_in_the_original() -> None:
    assert FORMATS["tabulate"](reply({"status": "PENDING", "result": None}, 201), {}) == "None\n"


def test_tabulate_github_is_a_markdown_table() -> None:
    assert FORMATS["tabulate-github"](reply([{"a": "x", "b": 10}]), {}) == (
        "| a |  b |\n|---|----|\n| x | 10 |\n"
    )


def test_tabulate_plain_has_no_rules() -> None:
    assert FORMATS["tabulate-plain"](reply([["x", 1], ["yy", 22]]), {}) == "x    1\nyy  22\n"


@pytest.mark.parametrize("name", ["csv", "tabulate"])
def test_a_single_value_is_printed_as_it_is(name: str) -> None:
    assert FORMATS[name](reply("Server Error", status=500), {}) == "Server Error\n"


def test_an_empty_list_prints_an_empty_table() -> None:
    assert FORMATS["csv"](reply([]), {}) == ""
    assert FORMATS["tabulate"](reply([]), {}) == "\n"
