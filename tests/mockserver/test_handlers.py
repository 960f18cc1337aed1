"""Request parsing of the handlers over a real socket: the login and logout, and the bodies of a
cancel and a delete, as the recorded Danube Cloud 4.6 answers show them (cited by ``n``)."""

from __future__ import annotations

import httpx
import pytest

from mockserver import create_app
from mockserver.accounts import Token, User
from tests.conftest import LiveServer, auth, frozen_settings, serve_in_thread

STARTED = "3e3d1-4b1d9e06-2c7a-4f83-8e15"  # alice's, running on a worker
BOBS = "4e4d1-2c8e5f19-3a7d-4e62-9c01"  # STARTED
LOGIN = "/api/accounts/login/"
REQUIRED = ["This field is required."]


def login(client: httpx.Client, body: object) -> httpx.Response:
    return client.post(LOGIN, json=body)


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"username": "", "password": ""}, {"username": REQUIRED, "password": REQUIRED}),  # n=365
        ({"username": "alice", "password": ""}, {"password": REQUIRED}),  # n=366
        ({"username": "alice"}, {"password": REQUIRED}),  # n=367
        ({"username": None, "password": None}, {"username": REQUIRED, "password": REQUIRED}),
        ({"username": 5, "password": "x"}, "Unable to log in with provided credentials."),  # n=370
        ({"username": "alice", "password": "nope"}, "Unable to log in with provided credentials."),
        ([1], "Invalid data"),  # n=368: a 500 there (x-known-defects body-not-an-object)
        ("alice", "Invalid data"),  # n=369: likewise
    ],
)
def test_a_refused_login_is_400_under_detail_without_es_headers(
    live_server: LiveServer, body: object, detail: object
) -> None:
    """n=361-371 (F8, F2): real deployments build these answers without the request."""
    with live_server.client() as client:
        response = login(client, body)
    assert (response.status_code, response.json()) == (400, {"detail": detail})
    assert not [h for h in response.headers if h.startswith("es_")]
    assert response.headers["allow"] == "POST, OPTIONS"


def test_a_malformed_login_body_is_a_parse_error_with_es_headers(live_server: LiveServer) -> None:
    """n=372: the parse error is an exception of the view, answered with the request."""
    with live_server.client() as client:
        response = client.post(LOGIN, content=b"{bad", headers={"Content-Type": "application/json"})
    assert (response.status_code, response.json()) == (
        400,
        {
            "detail": "JSON parse error - Expecting property name enclosed in double quotes: "
            "line 1 column 2 (char 1)"
        },
    )
    assert (response.headers["es_version"], response.headers["es_username"]) == ("4.6", "")
    assert "es_dc" not in response.headers


def test_a_login_answers_as_the_user_it_logged_in(live_server: LiveServer) -> None:
    """n=376, 388 (F2): es_username and es_dc are the new session's, whatever key came along."""
    with live_server.client() as client:
        plain = login(client, {"username": "bob", "password": "bob"})
        with_key = client.post(
            LOGIN, json={"username": "bob", "password": "bob"}, headers=auth("alice")
        )
    for response in (plain, with_key):
        assert response.status_code == 200
        assert (response.headers["es_username"], response.headers["es_dc"]) == ("bob", "main")


def test_a_login_without_api_access_is_a_400_with_a_full_stop() -> None:
    """n=363 (F8): the login form refuses it; it is not the 403 of authentication."""
    server = create_app(frozen_settings())
    server.deployment.store.add_user(
        User(90, "noapi", "noapi", None, current_dc=1, dcs=frozenset({1}), api_access=False)
    )
    server.deployment.reload_accounts()
    for live in serve_in_thread(server):
        with live.client() as client:
            response = login(client, {"username": "noapi", "password": "noapi"})
    assert (response.status_code, response.json()) == (
        400,
        {"detail": "User account is not allowed to access API."},
    )
    assert not [h for h in response.headers if h.startswith("es_")]


def test_a_login_of_an_inactive_account_is_refused_and_keeps_its_token() -> None:
    """n=364, 11 (F8): right password, disabled account; the token it had stays (and is
    refused as an inactive account's)."""
    server = create_app(frozen_settings())
    deployment = server.deployment
    deployment.store.add_user(User(91, "inactive", "inactive", None, current_dc=1, is_active=False))
    deployment.store.save_token(Token("0123", 91, deployment.now()))
    deployment.reload_accounts()
    for live in serve_in_thread(server):
        with live.client() as client:
            response = login(client, {"username": "inactive", "password": "inactive"})
            wrong = login(client, {"username": "inactive", "password": "nope"})
    assert (response.status_code, response.json()) == (400, {"detail": "User account is disabled."})
    assert wrong.json() == {"detail": "Unable to log in with provided credentials."}
    assert deployment.store.token("0123") is not None


def test_logout_by_api_key_says_bye_and_leaves_the_token_alive(live_server: LiveServer) -> None:
    """n=392-394 (F17): the real logout deletes the key's "token" and fails silently."""
    with live_server.client() as client:
        token = login(client, {"username": "alice", "password": "alice"}).json()["token"]
        bearer = {"Authorization": f"Token {token}"}
        by_key = client.get("/api/accounts/logout/", headers=auth("alice"))
        both = client.get("/api/accounts/logout/", headers={**auth("alice"), **bearer})
        still = client.get("/api/task/", headers=bearer)
        by_token = client.get("/api/accounts/logout/", headers=bearer)
        after = client.get("/api/task/", headers=bearer)
    assert by_key.json() == both.json() == by_token.json() == {"detail": "Bye."}
    assert still.status_code == 200
    assert (after.status_code, after.json()) == (403, {"detail": "Invalid token."})


def test_a_key_wins_over_the_token_of_another_user(live_server: LiveServer) -> None:
    """n=395."""
    with live_server.client() as client:
        token = login(client, {"username": "admin", "password": "admin"}).json()["token"]
        response = client.get(
            "/api/task/", headers={**auth("bob"), "Authorization": f"Token {token}"}
        )
    assert response.headers["es_username"] == "bob"


def test_force_no_is_true_and_a_cancel_with_it_kills(live_server: LiveServer) -> None:
    """n=339 (F10): any non-empty value that is not a false spelling is true."""
    with live_server.client("alice") as client:
        response = client.put(f"/api/task/{STARTED}/cancel/", json={"force": "no"})
        log = client.get("/api/task/log/?page=1&status=REVOKED").json()["results"]
    assert response.status_code == 410
    assert [e["detail"] for e in log if e["task"] == STARTED] == ["terminated (9)"]


def test_force_false_spellings_and_containers_do_not_kill(live_server: LiveServer) -> None:
    """n=351 (F10): a list is a 500 on real deployments (x-known-defects force-not-a-scalar),
    false here; "0" is a false spelling."""
    with live_server.client("alice") as client:
        response = client.put(f"/api/task/{STARTED}/cancel/", json={"force": [1]})
        log = client.get("/api/task/log/?page=1&status=REVOKED").json()["results"]
    assert response.status_code == 410
    assert [e["detail"] for e in log if e["task"] == STARTED] == ["terminated (15)"]


@pytest.mark.parametrize(
    ("kwargs", "status"),
    [
        ({"params": {"force": "true"}}, 406),  # n=347: the query is not read
        ({"json": {"force": False}}, 406),  # n=346
        ({"json": {"force": "0"}}, 406),
        ({"json": {"force": [1]}}, 406),  # n=351, x-known-defects force-not-a-scalar
        ({"json": {"force": "no"}}, 200),  # n=354
        ({"json": {"force": 1}}, 200),
    ],
)
def test_delete_reads_force_from_the_body_only_as_real_deployments_read_it(
    live_server: LiveServer, kwargs: dict[str, object], status: int
) -> None:
    """n=345-354 (F10, F19)."""
    with live_server.client("admin") as client:
        response = client.request("DELETE", f"/api/task/{BOBS}/", **kwargs)  # type: ignore[arg-type]
    assert response.status_code == status
