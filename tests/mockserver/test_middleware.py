"""The pipeline over a real socket: which headers each answer carries, in which order the checks
run, and the edges of routing, as the recorded Danube Cloud 4.6 answers show them
(``../shared/reference/real-4.6/transcript.jsonl``, cited by exchange number ``n``)."""

from __future__ import annotations

import pytest

from mockserver import create_app
from mockserver.accounts import Token, User
from tests.conftest import LiveServer, auth, frozen_settings, serve_in_thread

PENDING = "3e3d1-e7a05c3b-9d42-4b6e-a1c8"  # alice's
STARTED = "3e3d1-4b1d9e06-2c7a-4f83-8e15"  # alice's, running on a worker
BOBS = "4e4d1-2c8e5f19-3a7d-4e62-9c01"
DUMMY = "3e3d1-f2a7baf3-1c4e-4d8a-9b27"
ES = ("es_version", "es_username", "es_dc")


def es_headers(response: object) -> dict[str, str]:
    headers = response.headers  # type: ignore[attr-defined]
    return {name: headers[name] for name in ES if name in headers}


@pytest.mark.parametrize(
    "headers",
    [
        {},  # n=1
        {"ES-API-KEY": "doesnotexist0000"},  # n=2
        {"Authorization": "Token bogus"},  # n=5
        {"Authorization": "Basic Zm9vOmJhcg=="},  # n=6
        {"ES-API-KEY": ""},  # n=7
        {"Authorization": "Token"},  # n=8
        {"Authorization": "Token abc def"},  # n=9
    ],
)
def test_answers_to_nobody_carry_es_version_and_an_empty_username_but_no_es_dc(
    live_server: LiveServer, headers: dict[str, str]
) -> None:
    """n=1-9 (F2): real deployments set es_dc only once the credentials authenticated."""
    with live_server.client() as client:
        response = client.get("/api/task/", headers=headers)
    assert response.status_code == 403
    assert es_headers(response) == {"es_version": "4.6", "es_username": ""}
    assert response.headers["allow"] == "OPTIONS, GET"


def test_an_empty_api_key_is_ignored_and_the_token_counts(live_server: LiveServer) -> None:
    """n=7, 379 (F17): an empty ES-API-KEY is no key; the token after it authenticates."""
    with live_server.client() as client:
        token = client.post(
            "/api/accounts/login/", json={"username": "alice", "password": "alice"}
        ).json()["token"]
        response = client.get(
            "/api/task/", headers={"ES-API-KEY": "", "Authorization": f"Token {token}"}
        )
    assert response.status_code == 200
    assert response.headers["es_username"] == "alice"


def test_a_user_without_api_access_is_answered_as_nobody() -> None:
    """n=3, 86, 183: 403 with the real detail, no es_dc and an empty es_username."""
    server = create_app(frozen_settings())
    server.deployment.store.add_user(
        User(
            90,
            "noapi",
            "noapi",
            "demo-noapi-key",
            current_dc=1,
            dcs=frozenset({1}),
            api_access=False,
        )
    )
    server.deployment.reload_accounts()
    for live in serve_in_thread(server):
        with live.client() as client:
            response = client.get("/api/task/log/", headers={"ES-API-KEY": "demo-noapi-key"})
    assert (response.status_code, response.json()) == (
        403,
        {"detail": "User account is not allowed to access API"},
    )
    assert es_headers(response) == {"es_version": "4.6", "es_username": ""}


def test_an_inactive_account_is_not_permitted_by_key_and_refused_by_token() -> None:
    """n=10, 11, 184: by API key the account authenticates (es_username names it) but may do
    nothing; by token it does not authenticate at all. By key it may still log in (the login
    needs no account)."""
    server = create_app(frozen_settings())
    deployment = server.deployment
    deployment.store.add_user(
        User(91, "inactive", "inactive", "demo-inactive-key", current_dc=1, is_active=False)
    )
    deployment.store.save_token(Token("0123", 91, deployment.now()))
    deployment.reload_accounts()
    for live in serve_in_thread(server):
        with live.client() as client:
            by_key = client.get("/api/task/", headers={"ES-API-KEY": "demo-inactive-key"})
            by_token = client.get("/api/task/", headers={"Authorization": "Token 0123"})
            login = client.post(
                "/api/accounts/login/",
                json={"username": "alice", "password": "alice"},
                headers={"ES-API-KEY": "demo-inactive-key"},
            )
    assert (by_key.status_code, by_key.json()) == (
        403,
        {"detail": "You do not have permission to perform this action."},
    )
    assert es_headers(by_key) == {"es_version": "4.6", "es_username": "inactive", "es_dc": "main"}
    assert (by_token.status_code, by_token.json()) == (403, {"detail": "User inactive or deleted."})
    assert es_headers(by_token) == {"es_version": "4.6", "es_username": ""}
    assert login.status_code == 200


@pytest.mark.parametrize(
    ("path", "allow", "name"),
    [
        ("/api/task/", "OPTIONS, GET", "Task List"),  # n=30
        (f"/api/task/{PENDING}/", "GET, OPTIONS, DELETE", "Task Details"),  # n=93
        (f"/api/task/{PENDING}/status/", "OPTIONS, GET", "Task Status"),  # n=167
        (f"/api/task/{PENDING}/state/", "OPTIONS, GET", "Task Status"),  # n=168
        (f"/api/task/{PENDING}/done/", "OPTIONS, GET", "Task Done"),  # n=169
        (f"/api/task/{PENDING}/cancel/", "PUT, OPTIONS", "Task Cancel"),  # n=170
        ("/api/task/log/", "OPTIONS, GET", "Task Log"),  # n=171
        ("/api/task/log/stats/", "OPTIONS, GET", "Task Log Stats"),  # n=173
        ("/api/accounts/login/", "POST, OPTIONS", "Api Login"),  # n=174
        ("/api/accounts/logout/", "OPTIONS, GET", "Api Logout"),  # n=175
    ],
)
def test_options_gives_the_real_name_and_allow_and_no_es_headers(
    live_server: LiveServer, path: str, allow: str, name: str
) -> None:
    """n=30, 93, 167-175 (F12, F2): OPTIONS is built without the request on real deployments."""
    with live_server.client("alice") as client:
        response = client.options(path)
    assert response.status_code == 200
    assert response.json()["name"] == name
    assert response.headers["allow"] == allow
    assert es_headers(response) == {}


def test_options_needs_credentials_where_the_endpoint_does(live_server: LiveServer) -> None:
    """n=31, 174, 176: anonymous OPTIONS is 403 except on the login."""
    with live_server.client() as client:
        task_list = client.options("/api/task/")
        logout = client.options("/api/accounts/logout/")
        login = client.options("/api/accounts/login/")
    assert (task_list.status_code, logout.status_code, login.status_code) == (403, 403, 200)
    assert es_headers(task_list) == {"es_version": "4.6", "es_username": ""}


def test_options_never_resolves_the_datacenter(live_server: LiveServer) -> None:
    """n=177, 178: an unknown DC in the prefix or the query does not matter to OPTIONS."""
    with live_server.client("alice") as client:
        prefixed = client.options("/api/dc/nosuch/task/")
        queried = client.options("/api/task/log/?dc=nosuch")
    assert (prefixed.status_code, queried.status_code) == (200, 200)
    assert prefixed.json()["name"] == "Task List"


def test_406_names_an_authenticated_caller_and_nobody_for_bad_credentials(
    live_server: LiveServer,
) -> None:
    """n=43, 51, 52 (F13): real deployments answer the last with a 500 (x-known-defects:
    bad-credentials-and-accept); the reference server with the 406 to nobody."""
    with live_server.client() as client:
        alice = client.get("/api/task/", headers={"Accept": "text/html", **auth("alice")})
        nobody = client.get("/api/task/", headers={"Accept": "text/html"})
        bad_key = client.get(
            "/api/task/", headers={"Accept": "text/html", "ES-API-KEY": "doesnotexist0000"}
        )
    for response in (alice, nobody, bad_key):
        assert (response.status_code, response.json()) == (
            406,
            {"detail": "Could not satisfy the request Accept header."},
        )
    assert es_headers(alice) == {"es_version": "4.6", "es_username": "alice", "es_dc": "main"}
    assert es_headers(nobody) == es_headers(bad_key) == {"es_version": "4.6", "es_username": ""}


def test_the_dummy_task_404_of_status_is_a_task_response_and_that_of_done_is_not(
    live_server: LiveServer,
) -> None:
    """n=119, 141, 153 (F13): es_task_response comes with the status view's answers."""
    with live_server.client("alice") as client:
        status = client.get(f"/api/task/{DUMMY}/status/")
        state = client.get(f"/api/task/{DUMMY}/state/")
        done = client.get(f"/api/task/{DUMMY}/done/")
        not_found = client.get(f"/api/task/{PENDING}/status/?dc=nosuch")
    assert status.status_code == state.status_code == done.status_code == 404
    assert status.headers["es_task_response"] == state.headers["es_task_response"] == "true"
    assert "es_task_response" not in done.headers
    assert "es_task_response" not in not_found.headers  # n=161: a 404 of the datacenter


def test_every_answer_says_its_language_and_varies_by_it(live_server: LiveServer) -> None:
    """n=1, 30, 37, 57, 59, 60 (F11): Django's LocaleMiddleware on every answer."""
    with live_server.client("alice") as client:
        answers = [
            client.get("/api/task/"),
            client.options("/api/task/"),
            client.get("/api/task"),
            client.get("/api/nonexistent/"),
            client.get("/api"),
            client.get("/"),
            client.get("/api/task/", headers={"ES-API-KEY": "wrong"}),
        ]
    for response in answers:
        assert response.headers["content-language"] == "en", response.request.url
        assert response.headers["vary"] == "Accept-Language, Cookie", response.request.url


@pytest.mark.parametrize(
    ("path", "user", "language", "status", "body"),
    [
        ("/api/task/{bobs}/", "alice", "it", 403, {"detail": "Permesso negato"}),  # n=99
        (  # n=288
            "/api/task/log/?page=1&status=BAD",
            "alice",
            "it",
            400,
            {"status": ["Scegli un'opzione valida. BAD non è tra quelle disponibili."]},
        ),
        ("/api/task/log/stats/?last=abc", "alice", "it", 403, {"detail": "Permesso negato"}),
        ("/api/task/log/?page=abc", "alice", "it", 404, {"detail": "Invalid page."}),  # n=290
        (  # n=291
            "/api/task/log/?page=1&object_name=x",
            "alice",
            "it-IT,it;q=0.9,en;q=0.8",
            400,
            {"object_type": ["object_type attribute is required when filtering by object_name."]},
        ),
        (  # n=289
            "/api/task/log/?page=1&date_from=x",
            "alice",
            "it",
            400,
            {
                "date_from": [
                    "Date has wrong format. Use one of these formats instead: YYYY[-MM[-DD]]"
                ]
            },
        ),
        (  # n=316
            "/api/task/log/stats/?last=abc",
            "admin",
            "it",
            412,
            {"detail": 'Invalid "last" parameter'},
        ),
        (  # n=56
            "/api/task/",
            None,
            "it",
            403,
            {"detail": "Authentication credentials were not provided."},
        ),
    ],
)
def test_italian_answers_translate_what_real_deployments_translate(
    live_server: LiveServer,
    path: str,
    user: str | None,
    language: str,
    status: int,
    body: object,
) -> None:
    """n=56, 99, 288-291, 315, 316 (F11): two messages have Italian; the rest stays English."""
    with live_server.client(user) as client:
        response = client.get(path.format(bobs=BOBS), headers={"Accept-Language": language})
    assert (response.status_code, response.json()) == (status, body)
    assert response.headers["content-language"] == "it"


def test_a_language_real_deployments_do_not_offer_gets_english(live_server: LiveServer) -> None:
    """n=292: Accept-Language: de."""
    with live_server.client("alice") as client:
        response = client.get("/api/task/log/?page=1&status=BAD", headers={"Accept-Language": "de"})
    assert response.json() == {
        "status": ["Select a valid choice. BAD is not one of the available choices."]
    }
    assert response.headers["content-language"] == "en"


@pytest.mark.parametrize(
    ("user", "path", "status", "detail"),
    [
        ("alice", "/api/task/not-a-task-id/?dc=nosuch", 404, "Datacenter not found"),  # n=98
        ("alice", "/api/task/not-a-task-id/status/?dc=nosuch", 404, "Datacenter not found"),
        ("alice", "/api/task/log/?page=1&status=FOO&dc=nosuch", 404, "Datacenter not found"),
        ("alice", "/api/task/log/?page=1&object_name=web&dc=nosuch", 404, "Datacenter not found"),
        ("alice", "/api/task/log/?page=abc&dc=nosuch", 404, "Datacenter not found"),  # n=284
        ("admin", "/api/task/log/stats/?last=abc&dc=nosuch", 404, "Datacenter not found"),
        ("alice", "/api/task/log/stats/?last=abc", 403, "Permission denied"),  # n=314
        ("alice", "/api/task/log/?page=abc&order_by=bad", 412, None),  # n=287
        ("alice", "/api/task/0-4b48594c-2d77-4b72-a1e1/status/", 403, "Permission denied"),
    ],
)
def test_checks_run_in_real_order_datacenter_permission_validation_page(
    live_server: LiveServer, user: str, path: str, status: int, detail: str | None
) -> None:
    """n=98, 134, 282-287, 311, 314 (F4): the datacenter (404), then the permission (403),
    then the view's validation (400, 412), then the page (404)."""
    with live_server.client(user) as client:
        response = client.get(path)
    assert response.status_code == status
    if detail is not None:
        assert response.json() == {"detail": detail}


def test_field_errors_come_before_order_by_and_the_page(live_server: LiveServer) -> None:
    """n=285, 286."""
    with live_server.client("alice") as client:
        with_order = client.get("/api/task/log/?page=1&order_by=bad&status=FOO")
        with_page = client.get("/api/task/log/?page=abc&status=FOO")
    expected = {"status": ["Select a valid choice. FOO is not one of the available choices."]}
    assert (with_order.status_code, with_order.json()) == (400, expected)
    assert (with_page.status_code, with_page.json()) == (400, expected)


def test_a_cancel_of_a_foreign_task_is_refused_before_its_body_is_looked_at(
    live_server: LiveServer,
) -> None:
    """n=322 (F4): the permission comes first."""
    with live_server.client("alice") as client:
        response = client.put(f"/api/task/{BOBS}/cancel/", json={"force": "yes"})
    assert (response.status_code, response.json()) == (403, {"detail": "Permission denied"})


def test_an_empty_dc_names_none_and_beats_the_prefix_and_a_named_one_wins(
    live_server: LiveServer,
) -> None:
    """n=24, 25 (F21): the real request_data reads data.get('dc', <prefix>)."""
    with live_server.client("bob") as client:
        empty = client.get("/api/dc/lab/task/?dc=")
        named = client.get("/api/dc/lab/task/?dc=main")
        prefixed = client.get("/api/dc/lab/task/")
    assert (empty.status_code, empty.headers["es_dc"]) == (200, "main")
    assert (named.status_code, named.headers["es_dc"]) == (200, "main")
    assert prefixed.headers["es_dc"] == "lab"


def test_a_write_reads_its_datacenter_from_the_body_not_the_query(
    live_server: LiveServer,
) -> None:
    """n=340: PUT with ?dc=nosuch goes ahead in the current datacenter."""
    with live_server.client("alice") as client:
        response = client.put(f"/api/task/{STARTED}/cancel/?dc=nosuch")
        in_body = client.put(f"/api/task/{STARTED}/cancel/", json={"dc": "nosuch"})
    assert response.status_code == 410 and response.headers["es_dc"] == "main"
    assert (in_body.status_code, in_body.json()) == (404, {"detail": "Datacenter not found"})


def test_the_redirect_keeps_the_query_as_sent_after_the_slash(live_server: LiveServer) -> None:
    """n=40, 41 (section 3 of the audit): what bin/es sends for /task/log?page=2."""
    with live_server.client("admin") as client:
        response = client.get("/api/task/log?page=2/")
        followed = client.get("/api/task/log/?page=2/")
    assert response.headers["location"] == f"{live_server.url}/api/task/log/?page=2/"
    assert es_headers(response) == {} and "allow" not in response.headers
    assert (followed.status_code, followed.json()) == (404, {"detail": "Invalid page."})


def test_api_without_its_slash_is_an_html_404(live_server: LiveServer) -> None:
    """n=59 (api-html-404): outside the API's URLs; the page is ours, status and type real."""
    with live_server.client("alice") as client:
        response = client.get("/api")
    assert response.status_code == 404
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert "<html>" in response.text and es_headers(response) == {}


def test_the_site_root_redirects_to_the_start_page(live_server: LiveServer) -> None:
    """n=60 (site-root): 302, text/html, to Swagger UI instead of the real web UI."""
    with live_server.client() as client:
        response = client.get("/")
    assert response.status_code == 302
    assert response.headers["location"] == f"{live_server.url}/api/ui/"
    assert response.headers["content-type"] == "text/html; charset=utf-8"


def test_head_is_a_405_with_the_headers_and_no_body(live_server: LiveServer) -> None:
    """n=32: HEAD is not one of the view's methods."""
    with live_server.client("alice") as client:
        response = client.head("/api/task/")
    assert response.status_code == 405
    assert response.content == b""
    assert response.headers["allow"] == "OPTIONS, GET"
    assert response.headers["content-type"] == "application/json"
    assert es_headers(response) == {"es_version": "4.6", "es_username": "alice", "es_dc": "main"}


def test_server_errors_are_labelled_json(
    live_server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """n=271 (F18): Django's "Server Error" text, labelled application/json, no es_*."""

    def broken(*_args: object) -> None:
        raise RuntimeError("broken on purpose")

    monkeypatch.setattr(live_server.app.deployment, "task_list", broken)
    with live_server.client("alice") as client:
        response = client.get("/api/task/")
    assert (response.status_code, response.text) == (500, "Server Error")
    assert response.headers["content-type"] == "application/json"
    assert es_headers(response) == {} and "allow" not in response.headers


def test_throttled_options_and_throttled_anonymous_logins_carry_es_headers() -> None:
    """n=452, 519-525 (F9): every endpoint and OPTIONS count and get 429 over the rate;
    anonymous callers of endpoints that need credentials get 403 before any throttling
    (n=454-488)."""
    settings = frozen_settings(throttle=True, user_rate="2/min", anon_rate="2/min")
    for server in serve_in_thread(create_app(settings)):
        with server.client("alice") as client:
            alice = [
                client.get("/api/task/"),
                client.options("/api/task/"),
                client.options("/api/task/"),
            ]
        with server.client() as client:
            refused = [client.get("/api/task/") for _ in range(4)]
            logins = [
                client.post("/api/accounts/login/", json={"username": "x", "password": "y"})
                for _ in range(3)
            ]
    assert [r.status_code for r in alice] == [200, 200, 429]
    assert es_headers(alice[-1]) == {"es_version": "4.6", "es_username": "alice", "es_dc": "main"}
    assert alice[-1].headers["retry-after"].isdigit()
    assert [r.status_code for r in refused] == [403, 403, 403, 403]
    assert [r.status_code for r in logins] == [400, 400, 429]
    assert es_headers(logins[-1]) == {"es_version": "4.6", "es_username": ""}
    assert es_headers(logins[0]) == {}  # n=361: a refused login is built without the request
    assert logins[0].headers["allow"] == "POST, OPTIONS"


@pytest.mark.parametrize("query", ["?format=json", "?format=api"])
def test_a_format_query_parameter_changes_nothing(live_server: LiveServer, query: str) -> None:
    """n=53, 54 (F13): real deployments negotiate by the Accept header only."""
    with live_server.client("alice") as client:
        plain = client.get("/api/task/")
        formatted = client.get(f"/api/task/{query}")
    assert (formatted.status_code, formatted.json()) == (200, plain.json())
    assert formatted.headers["content-type"] == "application/json"


@pytest.mark.parametrize(
    "task_id",
    [
        "9" * 40 + "e3d1-c0ffee05-1234-4abc-8def",  # n=89: 68 characters, alice's as owner
        "0" * 40 + "3e3d1-e7a05c3b-9d42-4b6e-a1c8",  # n=97: 70 characters
    ],
)
def test_a_task_id_over_64_characters_is_well_formed(live_server: LiveServer, task_id: str) -> None:
    """n=89, 97 (F21): no length limit; the id passes the permission and names no task."""
    with live_server.client("alice") as client:
        response = client.get(f"/api/task/{task_id}/")
    assert (response.status_code, response.json()) == (404, {"detail": "Task does not exist"})


def test_ping_answers_anyone_without_es_headers(live_server: LiveServer) -> None:
    """n=530, 531: api_ping is built without the request; bad credentials are still refused."""
    with live_server.client() as client:
        anonymous = client.get("/api/ping/")
        alice = client.get("/api/ping/", headers=auth("alice"))
        bad = client.get("/api/ping/", headers={"ES-API-KEY": "doesnotexist0000"})
    for response in (anonymous, alice):
        assert (response.status_code, response.json()) == (200, "pong")
        assert es_headers(response) == {} and response.headers["allow"] == "OPTIONS, GET"
    assert (bad.status_code, es_headers(bad)) == (403, {"es_version": "4.6", "es_username": ""})
