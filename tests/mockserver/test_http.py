"""The reference server over a real socket: the HTTP edges real deployments have."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import httpx
import pytest

from esdc_api.spec import load_spec
from mockserver import create_app
from tests.conftest import (
    DOC_TIME,
    LiveServer,
    auth,
    chunked_request,
    frozen_settings,
    raw_exchange,
    serve_in_thread,
)

PENDING = "3e3d1-e7a05c3b-9d42-4b6e-a1c8"
SUCCEEDED = "3e3d1-8c2f4a17-5b3e-4d21-a9f0"


def test_missing_trailing_slash_is_redirected_permanently_before_anything_else(
    live_server: LiveServer,
) -> None:
    with live_server.client() as client:  # no credentials: the redirect comes first
        response = client.get("/api/task/log?page=2&status=FAILURE")
    assert response.status_code == 301
    assert response.headers["location"] == f"{live_server.url}/api/task/log/?page=2&status=FAILURE"
    assert (response.headers["content-type"], response.content) == ("text/html; charset=utf-8", b"")


def test_redirect_keeps_the_datacenter_prefix(live_server: LiveServer) -> None:
    with live_server.client("bob") as client:
        response = client.get("/api/dc/lab/task")
    assert response.headers["location"] == f"{live_server.url}/api/dc/lab/task/"


@pytest.mark.parametrize(
    "path", ["/api/nothing/", "/api/task/a_b/status/", "/api/task/x y/", "/api/task/1/2/3/4/"]
)
def test_urls_no_endpoint_matches_get_the_404_text_labelled_json(
    live_server: LiveServer, path: str
) -> None:
    """n=57, 58, 88 (F18): "Resource not found" as plain text, labelled application/json."""
    with live_server.client("alice") as client:
        response = client.get(path)
    assert (response.status_code, response.text) == (404, "Resource not found")
    assert response.headers["content-type"] == "application/json"
    assert "es_version" not in response.headers and "allow" not in response.headers


def test_wrong_method_gets_405_with_every_method_of_the_endpoint_in_allow(
    live_server: LiveServer,
) -> None:
    with live_server.client("alice") as client:
        response = client.post(f"/api/task/{PENDING}/")
    """n=91 (F13): Allow in real deployments' order."""
    assert response.status_code == 405
    assert response.json() == {"detail": 'Method "POST" not allowed.'}
    assert response.headers["allow"] == "GET, OPTIONS, DELETE"


def test_method_check_comes_after_authentication(live_server: LiveServer) -> None:
    with live_server.client() as client:
        response = client.post("/api/task/")
    assert response.status_code == 403


def test_options_answers_with_the_views_name_and_a_description_from_the_spec(
    live_server: LiveServer,
) -> None:
    """n=167: the name real deployments give the view, a description in their layout."""
    summary = load_spec()["paths"]["/task/{task_id}/status/"]["get"]["summary"]
    with live_server.client("alice") as client:
        response = client.options(f"/api/task/{PENDING}/status/")
    assert response.status_code == 200
    body = response.json()
    assert body["name"] == "Task Status"
    assert body["description"].startswith(summary)
    assert "\n\n.. http:get:: /task/(task_id)/status\n\n" in body["description"]
    assert (body["renders"], body["parses"]) == (["application/json"], ["application/json"])


def test_options_without_credentials_is_refused_like_any_call(live_server: LiveServer) -> None:
    with live_server.client() as client:
        assert client.options("/api/task/").status_code == 403


PREFLIGHT = {
    "Origin": "http://localhost:3000",
    "Access-Control-Request-Method": "GET",
    "Access-Control-Request-Headers": "es-api-key",
}


def test_cors_is_off_by_default_so_a_preflight_without_credentials_gets_403(
    live_server: LiveServer,
) -> None:
    """n=61-63, 65-66 (F1): real deployments send no CORS headers, and a browser's preflight
    carries no credentials, so it is refused like any anonymous call."""
    with live_server.client() as client:
        preflight = client.options("/api/task/", headers=PREFLIGHT)
    with live_server.client("alice") as client:
        simple = client.get("/api/task/", headers={"Origin": "http://localhost:3000"})
    assert (preflight.status_code, preflight.json()) == (
        403,
        {"detail": "Authentication credentials were not provided."},
    )
    for response in (preflight, simple):
        assert not [h for h in response.headers if h.startswith("access-control-")]


def test_cors_origin_turns_cors_on_for_the_task_api_only() -> None:
    settings = frozen_settings(cors_origins=("http://localhost:3000",))
    for server in serve_in_thread(create_app(settings)):
        with server.client() as client:
            preflight = client.options("/api/task/", headers=PREFLIGHT)
            control = client.options("/control/clock/", headers=PREFLIGHT)
        with server.client("alice") as client:
            simple = client.get("/api/task/", headers={"Origin": "http://localhost:3000"})
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "http://localhost:3000"
    assert "es-api-key" in preflight.headers["access-control-allow-headers"].lower()
    assert simple.headers["access-control-allow-origin"] == "http://localhost:3000"
    assert "es_username" in simple.headers["access-control-expose-headers"]
    assert "access-control-allow-origin" not in control.headers


def test_answers_carry_the_es_headers_of_the_caller_and_datacenter(live_server: LiveServer) -> None:
    with live_server.client("bob") as client:
        main = client.get("/api/task/")
        lab = client.get("/api/task/?dc=lab")
        prefixed = client.get("/api/dc/lab/task/")
    assert (main.headers["es_username"], main.headers["es_dc"]) == ("bob", "main")
    assert lab.headers["es_dc"] == prefixed.headers["es_dc"] == "lab"
    assert lab.json() == prefixed.json()
    assert main.headers["es_version"] == load_spec()["info"]["version"]
    assert main.headers["content-type"] == "application/json"


def test_status_answers_say_they_carry_a_task_state(live_server: LiveServer) -> None:
    with live_server.client("alice") as client:
        response = client.get(f"/api/task/{SUCCEEDED}/status/")
    assert response.status_code == 200
    assert response.headers["es_task_response"] == "true"


def test_accept_header_without_json_gets_406(live_server: LiveServer) -> None:
    with live_server.client("alice") as client:
        response = client.get("/api/task/", headers={"Accept": "text/html"})
        assert (
            client.get("/api/task/", headers={"Accept": "text/html, */*;q=0.1"}).status_code == 200
        )
    assert response.status_code == 406
    assert response.json() == {"detail": "Could not satisfy the request Accept header."}


def test_indent_in_accept_pretty_prints_as_es_asks(live_server: LiveServer) -> None:
    with live_server.client("alice") as client:
        response = client.get(
            "/api/task/log/stats/",
            headers={"Accept": "application/json; indent=4", **auth("admin")},
        )
    assert response.text.startswith('{\n    "pending": ')


@pytest.mark.parametrize(
    ("headers", "detail"),
    [
        ({}, "Authentication credentials were not provided."),
        ({"ES-API-KEY": "wrong"}, "Invalid API key"),
        ({"Authorization": "Token 0123456789abcdef"}, "Invalid token."),
        ({"Authorization": "Token"}, "Invalid token header. No credentials provided."),
        (
            {"Authorization": "Token a b"},
            "Invalid token header. Token string should not contain spaces.",
        ),
        ({"Authorization": "Bearer abc"}, "Authentication credentials were not provided."),
    ],
)
def test_bad_or_missing_credentials_get_403_with_the_real_detail(
    live_server: LiveServer, headers: dict[str, str], detail: str
) -> None:
    with live_server.client() as client:
        response = client.get("/api/task/", headers=headers)
    assert (response.status_code, response.json()) == (403, {"detail": detail})
    assert "www-authenticate" not in response.headers


def test_login_token_works_until_it_expires_on_the_servers_clock(live_server: LiveServer) -> None:
    with live_server.client() as client:
        login = client.post("/api/accounts/login/", json={"username": "alice", "password": "alice"})
        assert login.status_code == 200
        body = login.json()
        assert body["detail"] == "Welcome to Danube Cloud API."
        assert body["expires"] == (DOC_TIME + timedelta(hours=1)).isoformat()
        token = {"Authorization": f"Token {body['token']}"}
        assert client.get("/api/task/", headers=token).status_code == 200
        client.post("/control/clock/advance/", json={"seconds": 3600})
        expired = client.get("/api/task/", headers=token)
    assert (expired.status_code, expired.json()["detail"]) == (
        403,
        "Authentication credentials were not provided.",
    )


def test_logout_ends_the_token(live_server: LiveServer) -> None:
    with live_server.client() as client:
        token = client.post(
            "/api/accounts/login/", json={"username": "bob", "password": "bob"}
        ).json()["token"]
        headers = {"Authorization": f"Token {token}"}
        assert client.get("/api/accounts/logout/", headers=headers).json() == {"detail": "Bye."}
        assert client.get("/api/task/", headers=headers).json() == {"detail": "Invalid token."}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            {"username": "alice", "password": "nope"},
            {"detail": "Unable to log in with provided credentials."},
        ),
        ({"username": "alice"}, {"detail": {"password": ["This field is required."]}}),
        (
            {},
            {
                "detail": {
                    "username": ["This field is required."],
                    "password": ["This field is required."],
                }
            },
        ),
        (
            None,
            {
                "detail": {
                    "username": ["This field is required."],
                    "password": ["This field is required."],
                }
            },
        ),
    ],
)
def test_failed_login_is_400_in_the_real_shape(
    live_server: LiveServer, body: object, expected: object
) -> None:
    with live_server.client() as client:
        response = (
            client.post("/api/accounts/login/", json=body)
            if body is not None
            else client.post("/api/accounts/login/")
        )
    assert (response.status_code, response.json()) == (400, expected)


def test_throttle_answers_429_with_retry_after_once_the_rate_is_used_up() -> None:
    for server in serve_in_thread(create_app(frozen_settings(throttle=True, user_rate="3/min"))):
        with server.client("alice") as client:
            answers = [client.get("/api/task/") for _ in range(4)]
            other_user = client.get("/api/task/", headers=auth("bob"))
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    throttled = answers[-1]
    wait = int(throttled.headers["retry-after"])
    assert 0 < wait <= 60
    unit = "second" if wait == 1 else "seconds"
    assert throttled.json() == {
        "detail": f"Request was throttled. Expected available in {wait}.0 {unit}."
    }
    assert other_user.status_code == 200


def test_validation_errors_are_never_problem_json(live_server: LiveServer) -> None:
    with live_server.client("alice") as client:
        responses = [
            client.get("/api/task/log/?page=1&status=FOO&date_from=yesterday&hide_auto=maybe"),
            client.get("/api/task/log/?page=0"),
            client.get("/api/task/log/?page=1&order_by=hostname"),
            client.get("/api/task/log/stats/?last=soon", headers=auth("admin")),
            client.get("/api/task/0-4b48594c-2d77-4b72-a1e1/done/"),
        ]
    assert [(r.status_code, r.json()) for r in responses] == [
        (
            400,
            {
                "status": ["Select a valid choice. FOO is not one of the available choices."],
                "date_from": [
                    "Date has wrong format. Use one of these formats instead: YYYY[-MM[-DD]]"
                ],
            },
        ),
        (404, {"detail": "Invalid page."}),
        (412, {"detail": "Invalid order_by; Possible sort fields are: time"}),
        (412, {"detail": 'Invalid "last" parameter'}),
        (403, {"detail": "Permission denied"}),
    ]
    assert all(r.headers["content-type"] == "application/json" for r in responses)


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b"force=true", "application/x-www-form-urlencoded"),
        (b"{bad json", "application/json"),
        (b"force", "text/plain"),
        (b"\xff\xfe\xfd", "application/json"),
        (b"[1]", "application/json"),
        (b'"force"', "application/json"),
    ],
)
def test_a_cancel_body_real_deployments_cannot_read_is_ignored(
    live_server: LiveServer, content: bytes, content_type: str
) -> None:
    """n=335-338 (F10): the body is swallowed and the cancel goes ahead ([1] is a 500 there,
    x-known-defects body-not-an-object)."""
    started = "3e3d1-4b1d9e06-2c7a-4f83-8e15"
    with live_server.client("alice") as client:
        response = client.put(
            f"/api/task/{started}/cancel/", content=content, headers={"Content-Type": content_type}
        )
    assert response.status_code == 410
    assert response.json()["status"] == "REVOKED"


def test_login_with_a_body_that_is_not_utf8_is_a_clear_400(live_server: LiveServer) -> None:
    with live_server.client() as client:
        response = client.post(
            "/api/accounts/login/",
            content=b"\xc3\x28",
            headers={"Content-Type": "application/json"},
        )
    assert response.status_code == 400
    assert response.json()["detail"].startswith("JSON parse error")


def deeply_nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


RECURSION = "maximum recursion depth exceeded while decoding a JSON array from a unicode string"


@pytest.mark.parametrize("depth", [990, 2_000, 100_000])
def test_a_login_body_nested_too_deep_for_the_parser_is_a_400_parse_error(
    live_server: LiveServer, depth: int
) -> None:
    """Issue 12 M2: depth 990, 2,000 and 100,000 gave 500 (json's RecursionError is not a
    ValueError). The parser's own words, as DRF words every parse error."""
    body = b'{"username": ' + deeply_nested(depth) + b', "password": "x"}'
    with live_server.client() as client:
        response = client.post(
            "/api/accounts/login/", content=body, headers={"Content-Type": "application/json"}
        )
    assert (response.status_code, response.json()) == (
        400,
        {"detail": f"JSON parse error - {RECURSION}"},
    )


def test_a_cancel_body_nested_too_deep_is_unreadable_and_so_ignored(
    live_server: LiveServer,
) -> None:
    started = "3e3d1-4b1d9e06-2c7a-4f83-8e15"
    with live_server.client("alice") as client:
        response = client.put(
            f"/api/task/{started}/cancel/",
            content=b'{"force": ' + deeply_nested(2_000) + b"}",
            headers={"Content-Type": "application/json"},
        )
    assert response.status_code == 410
    assert response.json()["status"] == "REVOKED"


def test_a_chunked_login_body_is_read_whole(live_server: LiveServer) -> None:
    """Issue 12 M8: a body sent with ``Transfer-Encoding: chunked`` was read as empty."""
    body = b'{"username": "alice", "password": "alice"}'
    answer = raw_exchange(live_server.url, chunked_request("POST", "/api/accounts/login/", body))
    head, _, text = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 "), answer
    assert json.loads(text)["detail"] == "Welcome to Danube Cloud API."


def test_log_pages_link_with_absolute_urls_and_keep_the_filters(live_server: LiveServer) -> None:
    with live_server.client("admin") as client:
        first = client.get("/api/task/log/?page=1&hide_auto=false").json()
        third = client.get("/api/task/log/?page=3&hide_auto=false").json()
    assert first["next"] == f"{live_server.url}/api/task/log/?hide_auto=false&page=2"
    assert first["previous"] is None
    assert third["previous"] == f"{live_server.url}/api/task/log/?hide_auto=false&page=2"
    assert len(first["results"]) == 100
    assert first["results"][0]["time"].endswith("Z")


def test_log_page_links_follow_the_host_and_query_of_each_request(
    live_server: LiveServer,
) -> None:
    with live_server.client("admin") as client:
        for _ in range(2):  # the second time from the links kept
            plain = client.get("/api/task/log/?page=1").json()
            other = client.get("/api/task/log/?page=1", headers={"Host": "localhost:81"}).json()
            filtered = client.get("/api/task/log/?page=1&status=SUCCESS").json()
            assert plain["next"] == f"{live_server.url}/api/task/log/?page=2"
            assert other["next"] == "http://localhost:81/api/task/log/?page=2"
            assert filtered["next"] == f"{live_server.url}/api/task/log/?page=2&status=SUCCESS"


def test_last_ten_view_ignores_filters_and_has_the_cache_shape(live_server: LiveServer) -> None:
    with live_server.client("alice") as client:
        plain = client.get("/api/task/log/").json()
        filtered = client.get("/api/task/log/?status=FAILURE&order_by=time").json()
    assert plain == filtered
    assert list(plain) == ["results"] and len(plain["results"]) == 10
    assert all(e["time"].endswith("+00:00") and "task_type" in e for e in plain["results"])


def test_spec_and_swagger_ui_are_served(live_server: LiveServer) -> None:
    with httpx.Client(base_url=live_server.url, follow_redirects=True) as client:
        spec = client.get("/api/openapi.json")
        ui = client.get("/api/ui/")
        control_spec = client.get("/control/openapi.json")
    assert spec.status_code == 200 and "/task/{task_id}/status/" in spec.json()["paths"]
    assert ui.status_code == 200 and "swagger" in ui.text.lower()
    assert control_spec.json()["info"]["title"] == "Reference server control API"


def test_an_unreadable_delete_body_is_no_force_and_the_task_keeps_running(
    live_server: LiveServer,
) -> None:
    """n=345-347 (F10, F19): without a readable body there is no force, so 406."""
    bobs = "4e4d1-2c8e5f19-3a7d-4e62-9c01"
    with live_server.client("admin") as client:
        response = client.request(
            "DELETE",
            f"/api/task/{bobs}/",
            content=b"\x80force",
            headers={"Content-Type": "application/json"},
        )
        status = client.get(f"/api/task/{bobs}/status/")
    assert (response.status_code, response.json()) == (
        406,
        {"detail": "Safe task deletion is not implemented"},
    )
    assert status.json()["status"] == "STARTED"


def test_api_answers_are_dated_by_the_deployments_clock_and_others_by_real_time(
    live_server: LiveServer,
) -> None:
    """A deployment's Date and its task times come from one clock: the reference server's API
    answers carry its clock's moment (frozen here at DOC_TIME), once; the control API's and the
    site's answers real time."""
    with live_server.client("alice") as client:
        answers = [
            client.get("/api/task/"),  # 200
            client.get("/api/task/log/?page=9999"),  # 404, from the operation
            client.get("/api/nothing/"),  # 404, not routed
            client.get("/api/task"),  # 301
        ]
        control = client.get("/control/clock/")
    for answer in answers:
        assert answer.headers.get_list("date") == ["Mon, 02 Nov 2026 12:00:00 GMT"], answer.url
    assert DOC_TIME.isoformat() == "2026-11-02T12:00:00+00:00"
    (dated,) = control.headers.get_list("date")
    assert abs(parsedate_to_datetime(dated) - datetime.now(UTC)) < timedelta(minutes=1)


def test_api_answers_follow_the_clock_as_it_moves(live_server: LiveServer) -> None:
    with live_server.client("alice") as client:
        moved = client.post("/control/clock/advance/", json={"seconds": 90})
        assert moved.status_code == 200, moved.text
        answer = client.get("/api/task/")
    assert answer.headers["date"] == "Mon, 02 Nov 2026 12:01:30 GMT"


def test_log_page_links_are_made_for_an_in_process_client_too() -> None:
    """Starlette's TestClient (as the contract suite's in-process runs use) puts the server in
    the scope as a list, uvicorn as a tuple: the kept links' key takes either."""
    from starlette.testclient import TestClient

    with TestClient(create_app(frozen_settings())) as client:
        for _ in range(2):  # made, then kept
            answer = client.get("/api/task/log/?page=1", headers=auth("admin"))
            assert answer.status_code == 200, answer.text
            assert answer.json()["next"] == "http://testserver/api/task/log/?page=2"
