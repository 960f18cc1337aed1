"""The control page in headless Chromium: it shows the world, and its buttons change it."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import cast

import httpx
import pytest

from mockserver import ReferenceServer, create_app
from tests.browser import Browser
from tests.conftest import LiveServer, frozen_settings, serve_in_thread
from tests.control_guard import Guard


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    yield from serve_in_thread(create_app(frozen_settings()))


@pytest.fixture(scope="module")
def guarded() -> Iterator[tuple[LiveServer, Guard]]:
    guard = Guard(create_app(frozen_settings()), "s3cret")
    for live in serve_in_thread(cast(ReferenceServer, guard)):  # an ASGI app, as the server
        yield live, guard


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Browser]:
    browser = Browser(tmp_path / "profile")
    try:
        yield browser
    finally:
        browser.close()


def state_of(task_id: str) -> str:
    """The expression for the state the page shows for a task."""
    return (
        f"document.querySelector('tr[data-task={json.dumps(task_id)}] .state')?.textContent || ''"
    )


def test_advancing_the_clock_with_a_click_moves_a_task_to_its_end(
    server: LiveServer, browser: Browser
) -> None:
    with server.client() as client:
        task = client.post("/control/tasks/", json={"creator": "alice", "runs": 30}).json()
    browser.open(f"{server.url}/control/")
    browser.wait_for("document.body.dataset.ready === 'true'", "itself, ready")
    browser.wait_for(f"{state_of(task['task_id'])} === 'STARTED'", "the task running")

    browser.click('button[data-advance="60"]')

    browser.wait_for(f"{state_of(task['task_id'])} === 'SUCCESS'", "the task ended")
    with server.client() as client:
        assert client.get(f"/control/tasks/{task['task_id']}/").json()["state"] == "SUCCESS"
    assert "frozen" in browser.evaluate("document.querySelector('#clock-mode').textContent")


def test_the_page_of_a_named_world_acts_on_that_world_only(
    server: LiveServer, browser: Browser
) -> None:
    with server.client() as client:
        client.post("/control/worlds/", json={"name": "page"})
        task = client.post("/w/page/control/tasks/", json={"creator": "bob", "runs": None})
        task_id = task.json()["task_id"]
        client.get("/w/page/api/task/", headers={"ES-API-KEY": "demo-bob-key"})
    try:
        browser.open(f"{server.url}/w/page/control/")
        browser.wait_for(f"{state_of(task_id)} === 'STARTED'", "the world's task")
        assert "world page" in browser.evaluate("document.querySelector('h1').textContent")
        browser.wait_for(
            "document.querySelector('#journal-rows')?.textContent.includes('/api/task/')",
            "the world's request in the journal",
        )

        browser.click(f'tr[data-task="{task_id}"] button[data-action="fail"]')
        browser.wait_for(f"{state_of(task_id)} === 'FAILURE'", "the task failed")
        browser.click("button[data-fault]")  # the first quick fault: a system update
        browser.wait_for(
            "document.querySelector('#fault-rows tr')?.textContent.includes('system update')",
            "the rule in force",
        )
        with server.client() as client:
            own = client.get("/control/faults/").json()["rules"]
            world = client.get("/w/page/control/faults/").json()["rules"]
            status = client.get(f"/w/page/control/tasks/{task_id}/").json()["state"]
        assert (own, [r["fault"] for r in world], status) == ([], ["system_update"], "FAILURE")
    finally:
        with httpx.Client(base_url=server.url) as client:
            client.delete("/control/worlds/page/")


def test_a_browser_gets_the_page_and_fetch_or_curl_the_json(server: LiveServer) -> None:
    navigation = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    with server.client() as client:
        page = client.get("/control/", headers={"Accept": navigation})
        overview = client.get("/control/", headers={"Accept": "*/*"})
        script = client.get("/control/page/page.js")
        missing = client.get("/control/page/secrets.txt")
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert 'src="page/page.js"' in page.text
    assert overview.json()["clock"]["frozen"] is True
    assert script.headers["content-type"].startswith("text/javascript")
    assert missing.status_code == 400 and "secrets.txt" in missing.json()["detail"]


def test_every_change_the_page_makes_is_json_with_the_token_it_was_given(
    guarded: tuple[LiveServer, Guard], browser: Browser
) -> None:
    server, guard = guarded
    with server.client() as client:
        task = client.post(
            "/control/tasks/",
            json={"creator": "alice", "runs": 30},
            headers={"ESDC-Control": "s3cret"},
        ).json()
    browser.open(f"{server.url}/control/?token=s3cret")
    browser.wait_for("document.body.dataset.ready === 'true'", "itself, ready")
    browser.wait_for(f"{state_of(task['task_id'])} === 'STARTED'", "the task running")
    before = browser.evaluate("document.querySelector('#clock-now').textContent")

    for button in (
        f'tr[data-task="{task["task_id"]}"] button[data-action="hang"]',  # a call without a body
        "#freeze",
        "button[data-fault]",
        "#clear-faults",  # a DELETE
        "#clear-journal",
        'button[data-advance="60"]',
    ):
        browser.click(button)
    browser.wait_for(
        f"document.querySelector('#clock-now').textContent !== {json.dumps(before)}",
        "the clock a minute on, after the other clicks",
    )

    assert guard.refused == []
    assert browser.evaluate("document.querySelector('#banner').hidden")
    with server.client() as client:
        shown = client.get(
            f"/control/tasks/{task['task_id']}/", headers={"ESDC-Control": "s3cret"}
        ).json()
    assert (shown["state"], shown["outcome"]) == ("STARTED", None)  # hung, so the minute left it


def test_without_the_token_the_page_shows_the_refusal_and_takes_it_from_its_field(
    guarded: tuple[LiveServer, Guard], browser: Browser
) -> None:
    server, guard = guarded
    guard.refused.clear()
    browser.open(f"{server.url}/control/")
    browser.wait_for("document.body.dataset.ready === 'true'", "itself, ready")
    banner = browser.wait_for(
        "!document.querySelector('#banner').hidden"
        " && document.querySelector('#banner').textContent",
        "the refusal",
    )
    browser.click('button[data-advance="3600"]')
    deadline = time.monotonic() + 30
    while "POST /control/clock/advance/" not in guard.refused:
        assert time.monotonic() < deadline, f"the click sent no advance: {guard.refused}"
        time.sleep(0.05)
    assert "ESDC-Control" in banner
    assert browser.evaluate("document.querySelector('#clock-now').textContent") == "…"

    browser.evaluate("document.querySelector('#control-token').value = 's3cret'")
    browser.click("#token-form button")
    before = browser.wait_for(
        "document.querySelector('#banner').hidden"
        " && document.querySelector('#clock-now').textContent.includes('UTC')"
        " && document.querySelector('#clock-now').textContent",
        "the clock, once the page has the token",
    )
    browser.wait_for(
        "[...document.querySelectorAll('#new-creator option')].some(o => o.value === 'alice')",
        "the accounts to make a task for",
    )
    refused = len(guard.refused)
    browser.click('button[data-advance="3600"]')
    browser.wait_for(
        f"document.querySelector('#clock-now').textContent !== {json.dumps(before)}",
        "the clock an hour on",
    )
    assert len(guard.refused) == refused
