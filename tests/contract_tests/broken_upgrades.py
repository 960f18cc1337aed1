"""Broken reference servers of the kinds a real upgrade or a reimplementation could bring
(issue 11): another user's cancel accepted, a page beyond the end answered, links wrong on
page 2, a 429 without Retry-After, a dc ignored, the /api/dc/{dc}/ prefix gone, a token that
logout does not end, a count off by one, a state's code changed for one endpoint, a slow
endpoint."""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Scope

from tests.contract_tests.proxy import (
    KEYS,
    Answer,
    Rewrite,
    Variant,
    header,
    made,
    reference,
    throttled_reference,
    with_query,
)


def _is_log_page(answer: Answer) -> bool:
    body = answer.json()
    return answer.path == "/api/task/log/" and isinstance(body, dict) and "count" in body


def peer_cancel_accepted() -> ASGIApp:
    """Another plain user's cancel of a user's task is answered as if it were theirs: 201 with
    the task's state, instead of 403 Permission denied."""

    def change(answer: Answer) -> None:
        if answer.path.endswith("/cancel/") and answer.status == 403 and answer.key == KEYS["peer"]:
            task_id = answer.path.split("/")[-3]
            answer.status = 201
            answer.set_json({"status": "STARTED", "result": None, "task_id": task_id})

    return Rewrite(reference(), change)


def page_beyond_end_answered() -> ASGIApp:
    """A page past the end of the log is 200 with no entries, instead of 404 Invalid page."""

    def change(answer: Answer) -> None:
        if answer.path == "/api/task/log/" and answer.status == 404:
            body = answer.json()
            if isinstance(body, dict) and body.get("detail") == "Invalid page.":
                answer.status = 200
                answer.set_json({"count": 0, "next": None, "previous": None, "results": []})

    return Rewrite(reference(), change)


def next_link_wrong_on_page_two() -> ASGIApp:
    """Page 2 links next to page 2 again."""

    def change(answer: Answer) -> None:
        body = answer.json()
        if _is_log_page(answer) and answer.query.get("page") == "2" and body["next"]:
            body["next"] = body["next"].replace("page=3", "page=2")
            answer.set_json(body)

    return Rewrite(reference(), change)


def retry_after_missing() -> ASGIApp:
    """A throttled request is answered 429 without a Retry-After header."""

    def change(answer: Answer) -> None:
        if answer.status == 429:
            answer.headers = [(k, v) for k, v in answer.headers if k.lower() != b"retry-after"]

    return Rewrite(throttled_reference(), change)


def dc_parameter_ignored() -> ASGIApp:
    """The dc parameter is ignored: every request runs in the caller's current datacenter."""

    def request(scope: Scope) -> Scope:
        return with_query(scope, lambda q: {k: v for k, v in q.items() if k != "dc"})

    return Rewrite(reference(), request=request)


def dc_prefix_gone() -> ASGIApp:
    """/api/dc/{dc}/... matches no URL any more (a plain 404)."""

    def answer(scope: Scope) -> Answer | None:
        if scope["path"].startswith("/api/dc/"):
            ready = made(404, None, request=scope)
            ready.headers = [(b"content-type", b"text/plain; charset=utf-8")]
            ready.body = b"Resource not found"
            return ready
        return None

    return Rewrite(reference(), answer=answer)


def logout_keeps_token() -> ASGIApp:
    """A logout with a token answers "Bye." but the token goes on working."""

    def answer(scope: Scope) -> Answer | None:
        if scope["path"] == "/api/accounts/logout/" and (header(scope, "authorization") or ""):
            return made(200, {"detail": "Bye."}, request=scope)
        return None

    return Rewrite(reference(), answer=answer)


def log_count_off_by_one() -> ASGIApp:
    """Every page of the log counts one entry more than there is."""

    def change(answer: Answer) -> None:
        body = answer.json()
        if _is_log_page(answer):
            answer.set_json({**body, "count": body["count"] + 1})

    return Rewrite(reference(), change)


def done_code_changed() -> ASGIApp:
    """/done/ of a task still running answers 202, while /status/ keeps the state's 201."""

    def change(answer: Answer) -> None:
        if answer.path.endswith("/done/") and answer.status == 201:
            answer.status = 202

    return Rewrite(reference(), change)


def slow_endpoint() -> ASGIApp:
    """The task log statistics take six seconds to answer."""
    server = reference()

    async def change(answer: Answer) -> None:
        if answer.path == "/api/task/log/stats/":
            await asyncio.sleep(6)

    return Rewrite(server, change)


VARIANTS = [
    Variant(
        peer_cancel_accepted,
        "peer_cannot_cancel_a_users_tasks",
        "another plain user's cancel of task",
        ("-k", "peer_cannot_cancel"),
    ),
    Variant(
        page_beyond_end_answered,
        "log_pages_hold_100_entries_and_link_to_each_other",
        "must be 404 {'detail': 'Invalid page.'}, not 200",
        ("-k", "log_pages_hold"),
    ),
    Variant(
        next_link_wrong_on_page_two,
        "log_pages_hold_100_entries_and_link_to_each_other",
        "page 2 of",
        ("-k", "log_pages_hold"),
    ),
    Variant(
        retry_after_missing,
        "throttled_answers_say_when_to_retry",
        "came with no Retry-After",
        ("--esdc-check-throttle", "-k", "throttle"),
    ),
    Variant(
        dc_parameter_ignored,
        "an_unknown_dc_is_404",
        "the dc was ignored",
        ("-k", "unknown_dc"),
    ),
    Variant(
        dc_prefix_gone,
        "dc_prefix_works_like_the_dc_parameter",
        "the prefix works like the dc parameter",
        ("-k", "dc_prefix"),
    ),
    Variant(
        logout_keeps_token,
        "a_login_token_works_for_an_hour_and_logout_ends_it",
        "a logout with the token must end it",
        ("-k", "login_token"),
    ),
    Variant(
        log_count_off_by_one,
        "stats_equal_the_counts_of_the_paged_log",
        "in the stats but",
        ("-k", "stats_equal or filter_is_applied"),
    ),
    Variant(
        done_code_changed,
        "status_and_done_agree_with_the_state_table",
        "so /done/ should answer 201",
        ("-k", "state_table"),
    ),
    Variant(
        slow_endpoint,
        "answers_come_in_time",
        "GET /task/log/stats/ took",
        ("-k", "stats_are_admin_only or come_in_time"),
    ),
]
