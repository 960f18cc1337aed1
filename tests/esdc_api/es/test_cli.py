"""es against the fake API on a real loopback socket: what it sends, prints and exits with."""

from __future__ import annotations

import io
import json
import os
import socket
import stat
import subprocess
import sys
import warnings
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from esdc_api.es import ES_VERSION, ExitCode, run
from tests.esdc_api.es.conftest import Es, LiveServer
from tests.esdc_api.es.fake_api import (
    HELP_TEXT,
    PASSWORD,
    TASK_IDS,
    TOKEN,
    TOKENLESS_USER,
    USERNAME,
)


def test_get_task_prints_the_envelope_byte_for_byte(es: Es, live_server: LiveServer) -> None:
    outcome = es("get", "/task")
    assert outcome.code == 0
    assert outcome.err == ""
    assert outcome.out == (
        "{\n"
        f'    "url": "{live_server.url}/task/",\n'
        '    "status": 200,\n'
        '    "method": "GET",\n'
        '    "text": [\n'
        f'        "{TASK_IDS[0]}",\n'
        f'        "{TASK_IDS[1]}"\n'
        "    ]\n"
        "}\n"
    )


def test_a_pending_task_status_is_201_and_exits_0(es: Es, live_server: LiveServer) -> None:
    outcome = es("get", f"/task/{TASK_IDS[0]}/status")
    assert outcome.code == 0
    assert outcome.json() == {
        "url": f"{live_server.url}/task/{TASK_IDS[0]}/status/",
        "status": 201,
        "method": "GET",
        "text": {"status": "PENDING", "result": None, "task_id": TASK_IDS[0]},
    }


def test_cancel_is_a_put_and_a_410_exits_1(es: Es, live_server: LiveServer) -> None:
    outcome = es("set", f"/task/{TASK_IDS[0]}/cancel")
    assert outcome.code == ExitCode.CLIENT_ERROR
    assert outcome.out == (
        "{\n"
        f'    "url": "{live_server.url}/task/{TASK_IDS[0]}/cancel/",\n'
        '    "status": 410,\n'
        '    "method": "PUT",\n'
        '    "text": {\n'
        '        "status": "REVOKED",\n'
        '        "result": "terminated",\n'
        f'        "task_id": "{TASK_IDS[0]}"\n'
        "    }\n"
        "}\n"
    )


@pytest.mark.parametrize(("status", "code"), [(400, 1), (403, 1), (404, 1), (406, 1), (410, 1)])
def test_a_4xx_answer_exits_1(es: Es, status: int, code: int) -> None:
    outcome = es("get", f"/status/{status}")
    assert (outcome.code, outcome.json()["status"]) == (code, status)
    assert "detail" in outcome.json()["text"]


def test_a_plain_text_500_is_shown_as_a_string_and_exits_2(es: Es) -> None:
    outcome = es("get", "/status/500")
    assert outcome.code == ExitCode.SERVER_ERROR
    assert outcome.json()["text"] == "Server Error"
    assert outcome.err == "es: the answer (500) is not JSON; it is shown as a string\n"


def test_a_200_that_is_not_json_is_a_string_and_exits_0(es: Es) -> None:
    outcome = es("get", "/not-json")
    assert outcome.code == 0
    assert outcome.json()["text"] == "Resource not found"


def test_a_redirect_is_printed_not_followed(es: Es, live_server: LiveServer) -> None:
    outcome = es("get", "/moved")
    assert outcome.code == 0
    assert outcome.json() == {
        "url": f"{live_server.url}/moved/",
        "status": 301,
        "method": "GET",
        "text": "",
    }


def test_get_sends_parameters_in_the_query_string_as_the_original(es: Es) -> None:
    echo = es(
        "get",
        "/echo",
        "-full",
        "-active",
        "false",
        "-x",
        "NULL",
        "-last",
        "3600",
        "-ids",
        'json::["a", "b"]',
        "-q",
        "a b",
    ).json()["text"]
    assert echo["method"] == "GET"
    assert echo["query"] == "full=True&active=False&last=3600&ids=a&ids=b&q=a+b"
    assert echo["body"] == ""


@pytest.mark.parametrize(
    ("action", "method"),
    [("create", "POST"), ("post", "POST"), ("set", "PUT"), ("put", "PUT"), ("delete", "DELETE")],
)
def test_other_actions_send_parameters_as_a_json_body(es: Es, action: str, method: str) -> None:
    echo = es(action, "/echo", "-force", "-dc", "main", "-n", "json::3", "-note", "null").json()[
        "text"
    ]
    assert echo["method"] == method
    assert echo["query"] == ""
    assert echo["body"] == '{"force": true, "dc": "main", "n": 3, "note": null}'


def test_a_body_without_parameters_is_an_empty_object(es: Es) -> None:
    assert es("delete", "/echo").json()["text"]["body"] == "{}"


def test_the_resource_gets_a_trailing_slash(es: Es) -> None:
    assert es("get", "/echo").json()["text"]["path"] == "/api/echo/"


def test_the_trailing_slash_goes_after_a_query_written_in_the_resource(
    es: Es, live_server: LiveServer
) -> None:
    # What bin/es sends for `es get /task/log?page=2` (recorded exchange n=41), and parameters
    # after that query, as python-requests joined them.
    outcome = es("get", "/echo?page=2", "-dc", "main")
    assert outcome.json()["url"] == f"{live_server.url}/echo?page=2/&dc=main"
    echo = outcome.json()["text"]
    assert (echo["path"], echo["query"]) == ("/api/echo", "page=2/&dc=main")


def test_actions_are_case_insensitive(es: Es, token_store: Path) -> None:
    assert es("GET", "/task").out == es("get", "/task").out
    assert es("Set", "/echo", "-n", "json::1").json()["text"]["method"] == "PUT"
    assert es("LOGIN", "-username", USERNAME, "-password", PASSWORD).code == 0
    assert token_store.read_text() == TOKEN


def test_requests_carry_the_originals_headers(es: Es) -> None:
    headers = es("create", "/echo").json()["text"]["headers"]
    assert headers["user-agent"] == f"es/{ES_VERSION}" == "es/1.3.3"
    assert headers["accept"] == "application/json; indent=4"
    assert headers["content-type"] == "application/json; indent=4"
    assert headers["es-stream"] == "es"
    assert "authorization" not in headers
    assert "es-api-key" not in headers


def test_the_api_key_comes_from_es_api_key(es: Es) -> None:
    echo = es("get", "/echo", env={"ES_API_KEY": "env-key"}).json()["text"]
    assert echo["headers"]["es-api-key"] == "env-key"


def test_the_api_key_parameter_wins_and_is_not_sent_as_a_parameter(es: Es) -> None:
    echo = es("set", "/echo", "-api-key", "cli-key", env={"ES_API_KEY": "env-key"}).json()["text"]
    assert echo["headers"]["es-api-key"] == "cli-key"
    assert echo["body"] == "{}"


def test_login_posts_json_stores_the_token_privately_and_later_calls_send_it(
    es: Es, token_store: Path
) -> None:
    outcome = es("login", "-username", USERNAME, "-password", PASSWORD)
    assert outcome.code == 0
    assert outcome.json()["text"]["token"] == TOKEN
    assert token_store.read_text() == TOKEN
    assert stat.S_IMODE(token_store.stat().st_mode) == 0o600
    echo = es("get", "/echo").json()["text"]
    assert echo["headers"]["authorization"] == f"Token {TOKEN}"


def test_login_does_not_send_an_old_token(es: Es, token_store: Path) -> None:
    token_store.parent.mkdir(parents=True)
    token_store.write_text("old")
    echo = es("login", "/echo", "-username", "u").json()["text"]
    assert "authorization" not in echo["headers"]
    assert echo["body"] == '{"username": "u"}'


def test_a_failed_login_prints_the_answer_and_exits_4(es: Es, token_store: Path) -> None:
    outcome = es("login", "-username", USERNAME, "-password", "wrong")
    assert outcome.code == ExitCode.LOGIN_FAILED
    assert outcome.json()["status"] == 400
    assert outcome.err == (
        "ERROR: login failed: the answer (400) has no token; check -username and -password\n"
    )
    assert not token_store.exists()


def test_a_200_login_without_a_token_exits_4(es: Es) -> None:
    assert es("login", "-username", TOKENLESS_USER, "-password", PASSWORD).code == 4


def test_logout_sends_the_token_and_removes_the_store(es: Es, token_store: Path) -> None:
    es("login", "-username", USERNAME, "-password", PASSWORD)
    outcome = es("logout")
    assert outcome.code == 0
    assert outcome.json()["text"] == {"detail": "Bye."}
    assert not token_store.exists()


def test_logout_without_a_token_is_403_and_exits_1(es: Es) -> None:
    outcome = es("logout")
    assert (outcome.code, outcome.json()["status"]) == (1, 403)


def test_help_prints_the_description_from_options(es: Es) -> None:
    outcome = es("help", "/task")
    assert (outcome.code, outcome.out) == (0, HELP_TEXT + "\n")


def test_debug_adds_command_and_both_sides_headers(es: Es) -> None:
    outcome = es("-d", "get", "/task", "-dc", "main")
    document = outcome.json()
    assert list(document) == [
        "url",
        "status",
        "method",
        "text",
        "command",
        "headers",
        "request.headers",
    ]
    assert document["command"] == "get /task -dc main"
    assert document["headers"]["content-type"] == "application/json"
    assert document["request.headers"]["User-Agent"] == "es/1.3.3"
    assert document["request.headers"]["ES-STREAM"] == "es"


def test_csv_unwraps_results_and_separates_with_semicolons(es: Es) -> None:
    outcome = es("get", "/task/log", "--csv")
    assert outcome.code == 0
    assert outcome.out.splitlines() == [
        "time;status;task",
        f"2026-11-02T10:00:00.000000+00:00;SUCCESS;{TASK_IDS[0]}",
        f"2026-11-02T10:05:00.000000+00:00;FAILURE;{TASK_IDS[1]}",
    ]


def test_tabulate_prints_an_aligned_table(es: Es) -> None:
    assert es("--tabulate", "get", "/task").out == (
        "-----------------------------\n"
        f"{TASK_IDS[0]}\n"
        f"{TASK_IDS[1]}\n"
        "-----------------------------\n"
    )


def test_an_unreachable_server_exits_3_with_one_line(es: Es) -> None:
    with socket.socket() as sock:  # bound, never listening: connections are refused
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        outcome = es("get", "/task", env={"ES_API_URL": f"http://127.0.0.1:{port}/api"})
    assert outcome.code == ExitCode.REQUEST_FAILED
    assert outcome.out == ""
    assert outcome.err.startswith(f"ERROR: cannot connect to 'http://127.0.0.1:{port}/api/task/'")
    assert outcome.err.endswith("check ES_API_URL and that the API server is running\n")
    assert outcome.err.count("\n") == 1


def test_a_self_signed_certificate_is_accepted_by_default_without_a_warning(
    es: Es, tls_server: LiveServer
) -> None:
    # As the original (SSL_VERIFY = False); its urllib3 warned about it, httpx does not.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        outcome = es("get", "/task", env={"ES_API_URL": tls_server.url})
    assert (outcome.code, outcome.err, caught) == (0, "", [])
    assert outcome.json()["url"] == f"{tls_server.url}/task/"
    assert outcome.json()["text"] == TASK_IDS


def test_es_ssl_verify_1_refuses_a_self_signed_certificate(es: Es, tls_server: LiveServer) -> None:
    outcome = es("get", "/task", env={"ES_API_URL": tls_server.url, "ES_SSL_VERIFY": "1"})
    assert (outcome.code, outcome.out) == (ExitCode.REQUEST_FAILED, "")
    assert "CERTIFICATE_VERIFY_FAILED" in outcome.err
    assert outcome.err.endswith("the certificate is not trusted; ES_SSL_VERIFY=0 skips the check\n")


def test_a_stray_value_is_ignored_and_the_request_still_sent(es: Es) -> None:
    outcome = es("get", "/echo", "-status", "FAILURE", "SUCCESS")
    assert (outcome.code, outcome.json()["text"]["query"]) == (0, "status=FAILURE")
    assert outcome.err == (
        "es: ignoring 'SUCCESS': a value needs a -name before it, as in -name value\n"
    )


def test_a_bad_json_parameter_exits_11_before_sending(es: Es) -> None:
    outcome = es("create", "/echo", "-ids", "json::[1,")
    assert (outcome.code, outcome.out) == (11, "")
    assert outcome.err.startswith("ERROR: parameter -ids: cannot use 'json::[1,': not JSON (")


def test_an_unreadable_file_parameter_exits_11(es: Es, tmp_path: Path) -> None:
    outcome = es("set", "/echo", "-data", f"file::{tmp_path}/none.json")
    assert outcome.code == 11
    assert outcome.err == (
        f"ERROR: parameter -data: cannot use 'file::{tmp_path}/none.json': "
        "cannot read the file (No such file or directory)\n"
    )


def test_a_file_parameter_sends_the_files_text(es: Es, tmp_path: Path) -> None:
    (tmp_path / "key.pub").write_text("ssh-ed25519 AAAA\n")
    echo = es("set", "/echo", "-key", f"file::{tmp_path}/key.pub").json()["text"]
    assert json.loads(echo["body"]) == {"key": "ssh-ed25519 AAAA\n"}


@pytest.mark.parametrize(
    ("words", "code", "message"),
    [
        (
            ["options", "/task"],
            11,
            "ERROR: unknown action 'options' (help sends OPTIONS); start with one of get, ",
        ),
        (["get"], 12, "ERROR: missing resource: say what to get, e.g. es get /task\n"),
        (["get", "/task", "--xml"], 13, "ERROR: unknown output format '--xml'; use one of "),
    ],
)
def test_usage_mistakes_exit_with_the_originals_codes(
    es: Es, words: list[str], code: int, message: str
) -> None:
    outcome = es(*words)
    assert (outcome.code, outcome.out) == (code, "")
    assert outcome.err.startswith(message)


def test_a_bad_setting_exits_11(es: Es) -> None:
    outcome = es("get", "/task", env={"ES_TIMEOUT": "soon"})
    assert outcome.code == 11
    assert outcome.err.startswith("ERROR: ES_TIMEOUT='soon' cannot be used")


def test_no_arguments_print_usage_on_stderr_and_exit_11() -> None:
    out, err = io.StringIO(), io.StringIO()
    assert run(["es"], env={}, stdout=out, stderr=err) == 11
    assert out.getvalue() == ""
    assert err.getvalue().startswith("es - Swiss Army Knife for the Danube Cloud API")


@pytest.mark.parametrize("flag", ["-h", "--help", "-?"])
def test_help_flags_print_usage_with_the_quirks_and_exit_0(flag: str) -> None:
    out = io.StringIO()
    assert run(["es", flag], env={}, stdout=out, stderr=io.StringIO()) == 0
    assert "Quirks kept from the original es" in out.getvalue()
    assert "-last -1 sends" in out.getvalue()


@pytest.mark.parametrize(
    ("words", "code"),
    [
        (["get", "/task", "--help"], ExitCode.UNKNOWN_FORMAT),
        (["GET", "/task", "-dc", "main", "--help"], ExitCode.UNKNOWN_FORMAT),
        (["get", "--help"], ExitCode.MISSING_RESOURCE),  # the resource is checked first
        (["-d", "--help"], ExitCode.USAGE),  # no action is left
    ],
)
def test_help_after_the_first_word_exits_as_the_original(
    es: Es, words: list[str], code: int
) -> None:
    outcome = es(*words)
    assert (outcome.code, outcome.out) == (code, "")
    assert outcome.err.startswith("ERROR: ")


def test_a_streamed_task_waits_with_dots_and_reports_the_final_status(es: Es) -> None:
    outcome = es("create", "/vm/stream")
    assert outcome.code == 0
    assert outcome.err == f"Waiting for pending task {TASK_IDS[0]} ...\n"
    assert outcome.json()["status"] == 200
    assert outcome.json()["text"] == {"status": "SUCCESS", "result": {"done": True}}


def test_ctrl_c_exits_5() -> None:
    def interrupt(request: httpx.Request) -> httpx.Response:
        raise KeyboardInterrupt

    err = io.StringIO()
    client = httpx.Client(transport=httpx.MockTransport(interrupt))
    code = run(["es", "get", "/task"], client=client, env={}, stdout=io.StringIO(), stderr=err)
    assert code == ExitCode.INTERRUPTED
    assert err.getvalue().startswith("ERROR: interrupted by Ctrl-C")


def test_output_that_stdout_cannot_encode_exits_8() -> None:
    client = httpx.Client(
        transport=httpx.MockTransport(lambda r: httpx.Response(200, json="naïve"))
    )
    ascii_out, err = io.TextIOWrapper(io.BytesIO(), encoding="ascii"), io.StringIO()
    code = run(["es", "get", "/x", "--csv"], client=client, env={}, stdout=ascii_out, stderr=err)
    assert code == ExitCode.OUTPUT_ENCODING
    assert err.getvalue().startswith("ERROR: cannot print the answer (")
    assert err.getvalue().endswith("; try PYTHONIOENCODING=UTF-8\n")


def test_any_other_failure_to_get_an_answer_exits_3() -> None:
    def broken(request: httpx.Request) -> httpx.Response:
        raise httpx.RemoteProtocolError("peer closed connection without sending a response")

    err = io.StringIO()
    client = httpx.Client(transport=httpx.MockTransport(broken))
    assert run(["es", "get", "/task"], client=client, env={}, stderr=err) == 3
    assert err.getvalue() == (
        "ERROR: request to 'http://127.0.0.1:8000/api/task/' failed: "
        "peer closed connection without sending a response\n"
    )


@pytest.fixture
def in_process(app: Starlette) -> TestClient:
    # With httpx2 installed (Starlette 1.x wants it) this is an httpx2.Client, not an httpx one.
    return TestClient(app, base_url="http://127.0.0.1:8000")


def test_in_process_runs_without_a_socket_at_the_default_url(in_process: TestClient) -> None:
    out = io.StringIO()
    code = run(["es", "get", "/task"], client=in_process, env={}, stdout=out, stderr=io.StringIO())
    assert code == 0
    assert json.loads(out.getvalue()) == {
        "url": "http://127.0.0.1:8000/api/task/",
        "status": 200,
        "method": "GET",
        "text": TASK_IDS,
    }


@pytest.mark.parametrize(
    "words",
    [
        ["get", "/task"],
        ["set", f"/task/{TASK_IDS[0]}/cancel"],
        ["get", "/moved"],
        ["get", "/status/500"],
        ["get", "/task/log", "-dc", "main", "--tabulate"],
        ["login", "-username", USERNAME, "-password", "wrong"],
    ],
)
def test_in_process_prints_what_the_network_path_prints(
    es: Es, in_process: TestClient, words: list[str]
) -> None:
    over_network = es(*words)
    assert es(*words, client=in_process) == over_network


def test_in_process_login_and_logout_use_the_token_store(
    es: Es, in_process: TestClient, token_store: Path
) -> None:
    assert es("login", "-username", USERNAME, "-password", PASSWORD, client=in_process).code == 0
    assert token_store.read_text() == TOKEN
    outcome = es("logout", client=in_process)  # 200 only if the token was sent
    assert (outcome.code, outcome.json()["text"]) == (0, {"detail": "Bye."})
    assert not token_store.exists()


def test_the_es_console_script_runs_against_a_real_url(
    live_server: LiveServer, tmp_path: Path
) -> None:
    script = Path(sys.executable).with_name("es")
    env = {**os.environ, "ES_API_URL": live_server.url, "ES_TOKEN_STORE": str(tmp_path / "t")}
    done = subprocess.run(
        [str(script), "get", "/task/log", "--csv"], env=env, capture_output=True, timeout=30
    )
    assert (done.returncode, done.stderr) == (0, b"")
    assert done.stdout.startswith(b"time;status;task\r\n")
    failed = subprocess.run([str(script), "get"], env=env, capture_output=True, timeout=30)
    assert failed.returncode == 12
