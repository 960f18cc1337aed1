"""The task module page: the original page's seven sections, the extras, and executed examples."""

from __future__ import annotations

import json
import re

import pytest

from esdc_api.docs.examples import EsExample, examples_of
from esdc_api.spec import load_spec
from tests.docs.conftest import Build
from tests.docs.page import Page

#: The sections of the page we were given, in its order, as headed there.
ORIGINAL_SECTIONS = [
    "/task",
    "/task/(task_id)",
    "/task/(task_id)/status",
    "/task/(task_id)/done",
    "/task/(task_id)/cancel",
    "/task/log",
    "/task/log/stats",
]


@pytest.fixture(scope="module")
def task_page(built: Build) -> Page:
    return Page(built.page("api/task.html"))


def _examples(tags: set[str]) -> list[EsExample]:
    spec = load_spec()
    return [
        e for e in examples_of(spec)
        if tags & set(spec["paths"][e.path][e.method.lower()].get("tags", []))
    ]  # fmt: skip


def test_the_task_page_has_the_original_sections_in_their_order(task_page: Page) -> None:
    headings = list(task_page.headings.values())
    assert headings[0] == "api.task - Task results and task log"
    found = [h for h in headings if h in ORIGINAL_SECTIONS]
    assert found == ORIGINAL_SECTIONS


def test_the_undocumented_extras_have_sections_too(built: Build, task_page: Page) -> None:
    assert "/task/(task_id)/state" in task_page.headings.values()
    assert "delete--task-(task_id)-" in task_page.operations
    accounts = Page(built.page("api/accounts.html"))
    assert {"post--accounts-login-", "get--accounts-logout-"} <= set(accounts.operations)


def test_every_endpoint_is_an_httpdomain_entry_with_its_status_codes(built: Build) -> None:
    html = built.page("api/task.html")
    status = html[html.index('id="get--task-(task_id)-status-"') :]
    status = status[: status.index("</dl>", status.index("Status Codes"))]
    for code in ("200 OK", "201 Created", "400 Bad Request", "403 Forbidden", "404 Not Found",
                 "410 Gone"):  # fmt: skip
        assert code in status


def test_each_example_shows_a_real_envelope_with_the_promised_status(task_page: Page) -> None:
    examples = _examples({"task", "tasklog"})
    shown = list(task_page.examples.values())
    assert len(shown) == len(examples)
    for example, text in zip(examples, shown, strict=True):
        assert example.command in text
        envelope = json.loads(text[text.index("{") : text.index("\n}") + 2])
        assert envelope["status"] == example.status
        assert envelope["method"] == example.method
        assert envelope["url"].startswith("http://127.0.0.1:8000/api" + example.path.split("{")[0])
        assert "curl" in text and f"HTTP/1.1 {example.status}" in text


def test_the_cancelled_task_shows_revoked_in_the_log_example_below_it(task_page: Page) -> None:
    log = next(text for text in task_page.examples.values() if "es get /task/log\n" in text)
    envelope = json.loads(log[log.index("{") : log.index("\n}") + 2])
    newest = envelope["text"]["results"][0]
    assert (newest["task"], newest["status"]) == ("3e3d1-4b1d9e06-2c7a-4f83-8e15", "REVOKED")


def test_the_facts_of_an_endpoint_link_to_their_explanations(built: Build) -> None:
    html = built.page("api/task.html")
    cancel = html[html.index('id="put--task-(task_id)-cancel-"') :]
    assert re.search(r'href="\.\./perm\.html#perm-taskcreator"><span[^>]*>TaskCreator', cancel)
    assert 'href="../overview.html#api-datacenters"' in cancel
    assert 'href="../overview.html#api-synchronous-and-asynchronous-calls"' in cancel
    assert 'href="../es.html"' in cancel


def test_the_routing_table_lists_every_task_endpoint(built: Build) -> None:
    table = built.page("http-routingtable.html")
    for route in ("/task/(task_id)/status/", "/task/log/stats/", "/accounts/login/",
                  "/control/clock/advance/"):  # fmt: skip
        assert route in table


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html))


def _section(html: str, anchor: str) -> str:
    start = html.index(f'id="{anchor}"')
    return _text(html[start : html.index('class="esdc-example', start)])


def test_the_state_answers_show_each_states_values_with_their_status(built: Build) -> None:
    html = built.page("api/task.html")
    status = _section(html, "get--task-(task_id)-status-")
    done = _section(html, "get--task-(task_id)-done-")

    states = (
        "SUCCESS with 200 or 205, PENDING or STARTED with 201, FAILURE with 400, REVOKED with 410."
    )
    assert "status (string) – The state of a task" in status
    assert f"By status: {states}" in status
    assert "By status: true with 200 or 205, false with 201, 400 or 410." in done
    assert "One of: SUCCESS." not in _text(html)


def test_the_facts_of_an_operation_read_as_one_line_each(built: Build) -> None:
    html = built.page("api/task.html")
    status = _section(html, "get--task-(task_id)-status-")

    assert "DC-bound: ✗ no Permission: UserTask Asynchronous: ✗ no Credentials: API key" in status
    assert "?:" not in _text(html)
