"""Who may reach the reference server and use its control API (issue 12 H2, L8), over a
real socket, with the requests the audit sent: the ones a page of another site, a DNS
rebinding page or the network can make, and the ones this server's own pages make."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, cast

import httpx
import pytest

from mockserver import ReferenceServer, create_app
from mockserver.guard import AllowedHosts, Guard, host_name, is_control_path, is_loopback
from tests.conftest import LiveServer, frozen_settings, raw_exchange, serve_in_thread

EVIL = "http://evil.example"
#: What a browser adds to a ``fetch(url, {method: "POST", mode: "no-cors"})`` of another site.
NO_CORS = {
    "Origin": EVIL,
    "Sec-Fetch-Site": "cross-site",
    "Sec-Fetch-Mode": "no-cors",
    "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0",
}


def serve(**settings: object) -> Iterator[LiveServer]:
    """A server whose clock runs (so that freezing it is a change), with ``settings``."""
    values: dict[str, object] = {"scale": 1.0}
    values.update(settings)
    yield from serve_in_thread(create_app(frozen_settings(**values)))


@pytest.fixture
def running() -> Iterator[LiveServer]:
    yield from serve()


def frozen(server: LiveServer) -> bool:
    return bool(httpx.get(f"{server.url}/control/clock/", timeout=30).json()["frozen"])


def task_count(server: LiveServer) -> int:
    return int(httpx.get(f"{server.url}/control/", timeout=30).json()["tasks"])


def test_a_cross_site_html_form_post_changes_nothing(running: LiveServer) -> None:
    """The audit's ``<form method=post>`` to /control/clock/freeze/ was answered 200."""
    answer = httpx.post(
        f"{running.url}/control/clock/freeze/",
        content=b"a=b",
        headers={**NO_CORS, "Sec-Fetch-Mode": "navigate", "Content-Type": _FORM},
        timeout=30,
    )
    assert answer.status_code == 403, answer.text
    assert "detail" in answer.json()
    assert not frozen(running)


_FORM = "application/x-www-form-urlencoded"


@pytest.mark.parametrize("content_type", [_FORM, "text/plain", "multipart/form-data; boundary=x"])
def test_a_body_an_html_form_can_send_changes_nothing_even_without_origin(
    running: LiveServer, content_type: str
) -> None:
    """Only endpoints that needed a JSON body refused these (415); freeze took them."""
    answer = httpx.post(
        f"{running.url}/control/clock/freeze/",
        content=b'{"a": 1}',
        headers={"Content-Type": content_type},
        timeout=30,
    )
    assert answer.status_code == 403
    assert not frozen(running)


@pytest.mark.parametrize("path", ["/control/reset/", "/control/clock/freeze/"])
def test_a_no_cors_post_of_another_site_changes_nothing(running: LiveServer, path: str) -> None:
    """The audit's ``fetch(url, {method: "POST", mode: "no-cors"})`` with no body: 200 from
    /control/reset/ and /control/clock/run/."""
    httpx.post(f"{running.url}/control/tasks/", json={"creator": "alice"}, timeout=30)
    tasks = task_count(running)
    answer = httpx.post(f"{running.url}{path}", headers=NO_CORS, timeout=30)
    assert answer.status_code == 403
    assert task_count(running) == tasks and not frozen(running)


def test_a_browser_post_without_origin_needs_json_or_the_control_header(
    running: LiveServer,
) -> None:
    """A browser that sent no ``Origin`` (an old one, or a privacy setting) still cannot
    post a bodiless no-cors request; the header that no form can send lets it."""
    browser = {"User-Agent": NO_CORS["User-Agent"]}
    assert httpx.post(f"{running.url}/control/clock/freeze/", headers=browser).status_code == 403
    assert not frozen(running)
    allowed = httpx.post(
        f"{running.url}/control/clock/freeze/", headers={**browser, "ESDC-Control": "1"}
    )
    assert allowed.status_code == 200 and frozen(running)


def test_another_sites_page_cannot_read_the_accounts(running: LiveServer) -> None:
    """The audit read every password and key with a simple cross-origin GET."""
    answer = httpx.get(f"{running.url}/control/accounts/", headers={"Origin": EVIL}, timeout=30)
    assert answer.status_code == 403
    assert "api_key" not in answer.text
    assert "access-control-allow-origin" not in answer.headers


def test_cors_for_the_api_gives_the_control_api_none() -> None:
    """``--cors-origin '*'`` is for /api/: the control API still refuses other origins and
    answers their preflight without CORS headers."""
    for server in serve(cors_origins=("*",)):
        api = httpx.get(
            f"{server.url}/api/task/",
            headers={"Origin": EVIL, "ES-API-KEY": "demo-alice-key"},
            timeout=30,
        )
        preflight = httpx.options(
            f"{server.url}/control/reset/",
            headers={"Origin": EVIL, "Access-Control-Request-Method": "POST"},
            timeout=30,
        )
        read = httpx.get(f"{server.url}/control/accounts/", headers={"Origin": EVIL}, timeout=30)
        assert api.headers["access-control-allow-origin"] == "*"
        assert "access-control-allow-origin" not in preflight.headers
        assert read.status_code == 403 and "access-control-allow-origin" not in read.headers


def test_a_control_cors_origin_may_drive_the_control_api() -> None:
    for server in serve(control_cors_origins=("http://localhost:5173",)):
        origin = {"Origin": "http://localhost:5173"}
        answer = httpx.post(f"{server.url}/control/clock/freeze/", json={}, headers=origin)
        assert answer.status_code == 200
        assert answer.headers["access-control-allow-origin"] == "http://localhost:5173"
        assert frozen(server)


def test_this_servers_own_page_drives_the_control_api_with_a_plain_fetch(
    running: LiveServer,
) -> None:
    """What a same-origin ``fetch`` of the control page or Swagger UI sends: ``Origin`` of
    the server itself, ``Sec-Fetch-Site: same-origin``, a JSON body."""
    own = {
        "Origin": running.url,
        "Sec-Fetch-Site": "same-origin",
        "Sec-Fetch-Mode": "cors",
        "User-Agent": NO_CORS["User-Agent"],
    }
    made = httpx.post(
        f"{running.url}/control/tasks/", json={"creator": "alice"}, headers=own, timeout=30
    )
    freeze = httpx.post(f"{running.url}/control/clock/freeze/", headers=own, timeout=30)
    read = httpx.get(f"{running.url}/control/accounts/", headers=own, timeout=30)
    assert (made.status_code, freeze.status_code, read.status_code) == (201, 200, 200)
    assert frozen(running)


def test_scripts_need_nothing_on_loopback(running: LiveServer) -> None:
    """curl and test suites call the control API as before: no Origin, no browser."""
    answer = httpx.post(f"{running.url}/control/clock/freeze/", timeout=30)
    assert answer.status_code == 200 and frozen(running)


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/control/clock/"), ("GET", "/api/task/"), ("POST", "/control/clock/freeze/")],
)
def test_a_foreign_host_header_is_refused(running: LiveServer, method: str, path: str) -> None:
    """DNS rebinding: ``Host: rebind.attacker.example`` got normal answers from /control/
    and /api/."""
    answer = httpx.request(
        method,
        f"{running.url}{path}",
        headers={"Host": "rebind.attacker.example:19072", "ES-API-KEY": "demo-alice-key"},
        json={} if method == "POST" else None,
        timeout=30,
    )
    assert answer.status_code == 400
    assert "--allowed-host rebind.attacker.example" in answer.json()["detail"]
    assert not frozen(running)


def test_the_host_is_reflected_into_location_only_when_allowed() -> None:
    """L8: ``Host: evil.example.com`` came back as ``Location: http://evil.example.com/...``.
    Real deployments reflect the Host; this server does so for the names it answers to."""
    request = b"GET /api/task HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n"
    for server in serve(allowed_hosts=("tasks.example.com",)):
        refused = raw_exchange(server.url, request % b"evil.example.com")
        allowed = raw_exchange(server.url, request % b"tasks.example.com")
        assert refused.startswith(b"HTTP/1.1 400 ")
        assert b"location:" not in refused.lower()
        assert b"location: http://tasks.example.com/api/task/\r\n" in allowed.lower()


def test_the_log_links_carry_only_allowed_hosts(running: LiveServer) -> None:
    page = httpx.get(
        f"{running.url}/api/task/log/?page=1",
        headers={"ES-API-KEY": "demo-admin-key", "Host": "evil.example.com"},
        timeout=30,
    )
    assert page.status_code == 400 and "evil.example.com/api" not in page.text


def test_with_a_token_every_control_call_needs_it() -> None:
    for server in serve(control_token="s3cret"):
        url = f"{server.url}/control/clock/freeze/"
        missing = httpx.post(url, timeout=30)
        wrong = httpx.post(url, headers={"ESDC-Control": "guess"}, timeout=30)
        accounts = httpx.get(f"{server.url}/control/accounts/", timeout=30)
        assert (missing.status_code, wrong.status_code, accounts.status_code) == (401, 401, 401)
        assert missing.headers["www-authenticate"] == "ESDC-Control"
        assert "api_key" not in accounts.text and not frozen_with(server, "s3cret")
        right = httpx.post(url, headers={"ESDC-Control": "s3cret"}, timeout=30)
        assert right.status_code == 200 and frozen_with(server, "s3cret")
        # the docs stay readable: they hold no secret
        docs = httpx.get(f"{server.url}/control/openapi.json", timeout=30)
        assert docs.status_code == 200


def test_a_named_worlds_control_api_is_guarded_like_the_control_api() -> None:
    """``/w/{name}/control/...`` (named worlds) gets the same rules as ``/control/...``."""
    for server in serve(control_token="s3cret"):
        answer = httpx.post(f"{server.url}/w/lab/control/clock/freeze/", timeout=30)
        assert answer.status_code == 401
    assert is_control_path("/w/lab/control/reset/") and is_control_path("/w/lab/control")
    assert not is_control_path("/w/lab/controlled/") and not is_control_path("/controls/")
    assert not is_control_path("/api/control/")


def frozen_with(server: LiveServer, token: str) -> bool:
    clock = httpx.get(f"{server.url}/control/clock/", headers={"ESDC-Control": token})
    return bool(clock.json()["frozen"])


def test_no_control_turns_the_control_api_off() -> None:
    for server in serve(control=False):
        for path in ("/control/", "/control/accounts/", "/control/openapi.json"):
            assert httpx.get(f"{server.url}{path}", timeout=30).status_code == 404
        assert httpx.post(f"{server.url}/control/reset/", timeout=30).status_code == 404
        api = httpx.get(f"{server.url}/api/task/", headers={"ES-API-KEY": "demo-alice-key"})
        assert api.status_code == 200


def test_the_names_a_server_answers_to() -> None:
    loopback = AllowedHosts.for_server("127.0.0.1", ())
    assert loopback.allows("localhost") and loopback.allows("app.localhost")
    assert loopback.allows("127.0.0.1") and loopback.allows("::1") and loopback.allows("10.0.0.7")
    assert not loopback.allows("rebind.attacker.example") and not loopback.allows("testserver")
    domain = AllowedHosts([".example.com"])
    assert domain.allows("example.com") and domain.allows("a.example.com")
    assert not domain.allows("badexample.com")
    assert AllowedHosts(["*"]).allows("anything")
    assert host_name("[::1]:8000") == "::1" and host_name("Example.COM.:80") == "example.com"
    assert is_loopback("127.0.0.2") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5")


PAGE = b"<!DOCTYPE html><title>control</title>"


async def page_or_overview(scope: Any, receive: Any, send: Any) -> None:
    """The control page as the frontend branch serves it: HTML to a browser's navigation,
    the overview's JSON (which lists the accounts) to everyone else."""
    page = "text/html" in dict(scope["headers"]).get(b"accept", b"").decode()
    body, media = (PAGE, b"text/html") if page else (b'{"api_key": "k"}', b"application/json")
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-type", media)]}
    )
    await send({"type": "http.response.body", "body": body})


def test_with_a_token_the_control_page_opens_and_the_overview_still_needs_it() -> None:
    """A browser opens /control/ (or /w/{name}/control/) before the page can send the
    token; what it gets without the token is the page, never the JSON at the same URL."""
    guard = Guard(page_or_overview, hosts=AllowedHosts(), token="s3cret")
    for server in serve_in_thread(cast(ReferenceServer, guard)):
        html = {"Accept": "text/html,application/xhtml+xml", "User-Agent": "Mozilla/5.0"}
        for base in ("/control/", "/w/lab/control/"):
            page = httpx.get(f"{server.url}{base}", headers=html, timeout=30)
            overview = httpx.get(f"{server.url}{base}", timeout=30)
            given = httpx.get(f"{server.url}{base}", headers={"ESDC-Control": "s3cret"})
            assert (page.status_code, page.content) == (200, PAGE)
            assert overview.status_code == 401 and "api_key" not in overview.text
            assert given.json() == {"api_key": "k"}
        # under /page/ too, only what is a page passes (this app answers JSON to */*)
        assert httpx.get(f"{server.url}/control/page/x", headers=html).status_code == 200
        assert httpx.get(f"{server.url}/control/page/x", timeout=30).status_code == 401
        # and nothing else of the control API opens by asking for HTML
        assert httpx.get(f"{server.url}/control/accounts/", headers=html).status_code == 401


def test_with_a_token_a_browser_asking_the_reference_server_for_html_gets_no_accounts() -> None:
    """The reference server's /control/ is its control page for a browser: without the token
    the page opens (it asks for the token), and the accounts stay behind it."""
    for server in serve(control_token="s3cret"):
        html = {"Accept": "text/html"}
        answer = httpx.get(f"{server.url}/control/", headers=html, timeout=30)
        assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/html")
        assert "api_key" not in answer.text and "demo-alice-key" not in answer.text
        accounts = httpx.get(f"{server.url}/control/accounts/", headers=html, timeout=30)
        assert accounts.status_code == 401 and "demo-alice-key" not in accounts.text
