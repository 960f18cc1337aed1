"""Exit codes: the numbers of Danube Cloud's es 1.3.3, which scripts test for."""

from __future__ import annotations

import pytest

from esdc_api.es.errors import (
    BadParameter,
    BadSetting,
    EsError,
    ExitCode,
    LoginFailed,
    MissingResource,
    RequestFailed,
    UnknownAction,
    UnknownFormat,
)


def test_exit_codes_are_the_originals() -> None:
    assert {code.name: int(code) for code in ExitCode} == {
        "OK": 0,
        "CLIENT_ERROR": 1,
        "SERVER_ERROR": 2,
        "REQUEST_FAILED": 3,
        "LOGIN_FAILED": 4,
        "INTERRUPTED": 5,
        "OUTPUT_ENCODING": 8,
        "OUTPUT_FAILED": 9,
        "USAGE": 11,
        "MISSING_RESOURCE": 12,
        "UNKNOWN_FORMAT": 13,
    }


@pytest.mark.parametrize(
    ("status", "code"), [(200, 0), (201, 0), (301, 0), (399, 0), (400, 1), (499, 1), (500, 2)]
)
def test_the_exit_code_follows_the_status_class(status: int, code: int) -> None:
    assert ExitCode.for_status(status) == code


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (UnknownAction("x", ["get"]), 11),
        (BadParameter("ids", "json::[", "not JSON"), 11),
        (BadSetting("ES_TIMEOUT", "x", "a number"), 11),
        (MissingResource("missing resource"), 12),
        (UnknownFormat("xml", ["json"]), 13),
        (RequestFailed("refused"), 3),
        (LoginFailed("no token"), 4),
    ],
)
def test_each_error_carries_its_exit_code(error: EsError, code: int) -> None:
    assert error.exit_code == code
