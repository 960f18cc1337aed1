"""Reading the command line: the original's grammar, quirks included."""

from __future__ import annotations

from pathlib import Path

import pytest

from esdc_api.es.command import parse_command, parse_params, wants_help, with_trailing_slash
from esdc_api.es.errors import (
    BadParameter,
    ExitCode,
    MissingResource,
    UnknownAction,
    UnknownFormat,
)


@pytest.mark.parametrize(
    ("action", "method"),
    [
        ("get", "GET"),
        ("create", "POST"),
        ("post", "POST"),
        ("set", "PUT"),
        ("put", "PUT"),
        ("delete", "DELETE"),
        ("help", "OPTIONS"),
    ],
)
def test_each_action_maps_to_its_http_method(action: str, method: str) -> None:
    assert parse_command([action, "/task"]).method == method


@pytest.mark.parametrize("action", ["GET", "Get", "gEt"])
def test_the_action_is_read_in_any_case(action: str) -> None:
    command = parse_command([action, "/task", "-dc", "main"])
    assert (command.action, command.method, command.in_query) == ("get", "GET", True)
    assert command.words == (action, "/task", "-dc", "main")  # -d shows it as typed


def test_only_get_and_logout_send_parameters_in_the_query_string() -> None:
    in_query = {
        a
        for a in ["get", "create", "set", "delete", "help", "login", "logout"]
        if parse_command([a, "/x"]).in_query
    }
    assert in_query == {"get", "logout"}


def test_a_trailing_slash_is_appended_to_the_resource() -> None:
    assert parse_command(["get", "/task/log"]).path == "/task/log/"
    assert parse_command(["get", "/task/log/"]).path == "/task/log/"


def test_the_trailing_slash_goes_after_a_query_written_in_the_resource() -> None:
    assert with_trailing_slash("/task/log?page=2") == "/task/log?page=2/"
    assert parse_command(["get", "/task/log?page=2"]).path == "/task/log?page=2/"


def test_login_and_logout_default_to_the_accounts_resources() -> None:
    assert parse_command(["login", "-username", "u"]).path == "/accounts/login/"
    assert parse_command(["logout"]).path == "/accounts/logout/"


def test_values_true_false_null_are_json_in_any_case() -> None:
    params = parse_params(["-a", "TRUE", "-b", "False", "-c", "nUlL", "-d", "3600"])
    assert params == {"a": True, "b": False, "c": None, "d": "3600"}


def test_a_parameter_without_a_value_is_true() -> None:
    assert parse_params(["-force", "-dc", "main", "-full"]) == {
        "force": True,
        "dc": "main",
        "full": True,
    }


def test_json_values_are_parsed() -> None:
    assert parse_params(["-ids", 'json::["a", 1]', "-n", "json::-1"]) == {
        "ids": ["a", 1],
        "n": -1,
    }


def test_file_values_are_the_files_text(tmp_path: Path) -> None:
    path = tmp_path / "note.txt"
    path.write_text("héllo\n", encoding="utf-8")
    assert parse_params(["-note", f"file::{path}"]) == {"note": "héllo\n"}


def test_a_value_starting_with_dash_and_alnum_starts_a_new_parameter() -> None:
    # The original's quirk, kept: negative numbers need json::-1.
    assert parse_params(["-last", "-1"]) == {"last": True, "1": True}


def test_a_dash_followed_by_a_non_alnum_is_a_value() -> None:
    assert parse_params(["-a", "-", "-b", "-_x"]) == {"a": "-", "b": "-_x"}


def test_bad_json_names_the_parameter_and_exits_11() -> None:
    with pytest.raises(BadParameter) as caught:
        parse_params(["-ids", "json::[1,"])
    assert str(caught.value).startswith("parameter -ids: cannot use 'json::[1,': not JSON")
    assert caught.value.exit_code == ExitCode.USAGE


def test_an_unreadable_file_names_the_parameter_and_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "missing.json"
    with pytest.raises(BadParameter) as caught:
        parse_params(["-data", f"file::{missing}"])
    assert str(caught.value) == (
        f"parameter -data: cannot use 'file::{missing}': "
        "cannot read the file (No such file or directory)"
    )


def test_a_stray_value_without_a_name_is_ignored() -> None:
    assert parse_params(["-status", "FAILURE", "SUCCESS"]) == {"status": "FAILURE"}
    command = parse_command(["get", "/task/log", "main", "-page", "1", "2", "-full"])
    assert command.params == {"page": "1", "full": True}
    assert command.ignored == ("main", "2")


def test_api_key_is_taken_out_of_the_parameters() -> None:
    command = parse_command(["get", "/task", "-api-key", "k3y", "-dc", "main"])
    assert command.api_key == "k3y"
    assert command.params == {"dc": "main"}
    assert "k3y" not in repr(command)


def test_api_key_without_a_value_is_refused() -> None:
    with pytest.raises(BadParameter, match="parameter -api-key"):
        parse_command(["get", "/task", "-api-key"])


def test_debug_counts_only_as_the_first_argument() -> None:
    assert parse_command(["-d", "get", "/task"]).debug
    assert parse_command(["get", "/task", "-d"]).params == {"d": True}


def test_an_argument_starting_with_two_dashes_is_the_output_format_anywhere() -> None:
    command = parse_command(["--csv", "get", "/task", "-x", "--tabulate"])
    assert command.output_format == "tabulate"
    assert command.params == {"x": True}
    assert command.words == ("get", "/task", "-x")


def test_an_unknown_action_exits_11() -> None:
    with pytest.raises(
        UnknownAction,
        match=r"unknown action 'options' \(help sends OPTIONS\); start with one of get",
    ) as e:
        parse_command(["options", "/task"])
    assert e.value.exit_code == 11


def test_a_missing_resource_exits_12() -> None:
    with pytest.raises(MissingResource, match=r"'task' does not start with '/'") as caught:
        parse_command(["get", "task"])
    assert caught.value.exit_code == 12
    with pytest.raises(MissingResource, match="say what to delete"):
        parse_command(["delete"])


def test_an_unknown_output_format_exits_13() -> None:
    with pytest.raises(
        UnknownFormat, match=r"unknown output format '--xml'; use one of --json"
    ) as e:
        parse_command(["get", "/task", "--xml"])
    assert e.value.exit_code == 13


def test_checks_run_in_the_originals_order_action_resource_format() -> None:
    with pytest.raises(UnknownAction):
        parse_command(["nope", "--xml"])
    with pytest.raises(MissingResource):
        parse_command(["get", "--xml"])


@pytest.mark.parametrize("args", [["-h"], ["--help"], ["-?"], ["--help", "get", "/task"]])
def test_help_flags_ask_for_usage(args: list[str]) -> None:
    assert wants_help(args)


def test_help_after_the_first_word_is_an_output_format_and_exits_13() -> None:
    assert not wants_help(["get", "/task", "--help"])
    with pytest.raises(UnknownFormat, match=r"unknown output format '--help'") as caught:
        parse_command(["get", "/task", "--help"])
    assert caught.value.exit_code == ExitCode.UNKNOWN_FORMAT
    assert str(caught.value).endswith("only as the first argument: es --help)")
    assert parse_command(["get", "/task", "-h"]).params == {"h": True}


def test_help_the_action_is_not_a_help_flag() -> None:
    assert not wants_help(["help", "/task"])
