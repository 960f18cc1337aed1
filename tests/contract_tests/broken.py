"""Deliberately broken reference servers, one defect each, to prove the contract suite catches
drift.

Each variant is a function returning an ASGI app: a fresh reference server behind a
:class:`~tests.contract_tests.proxy.Rewrite` that breaks one rule, the way a real upgrade or a
reimplementation could. The first ones are here; the kinds issue 11 lists are in
:mod:`broken_upgrades`, the rules issue 16 found unjudged in :mod:`broken_eyes`. ``VARIANTS``
names every variant with the check that must fail for it and what its message must say.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from urllib.parse import parse_qsl, urlencode

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tests.contract_tests.as_real import behaves_as_real
from tests.contract_tests.proxy import (
    KEYS,
    Answer,
    Rewrite,
    Variant,
    ask,
    reference,
    with_header,
    with_query,
)

CREDENTIAL_ERRORS = {
    "Authentication credentials were not provided.",
    "Invalid API key",
    "Invalid token.",
}
TASK_ID = re.compile(
    r"^[0-9]+[deamif][0-9]+[du][0-9]+-[A-Za-z0-9]{8}-[A-Za-z0-9]{4}-[A-Za-z0-9]{4}-[A-Za-z0-9]{4}$"
)


def as_admin(paths: Callable[[Scope], bool]) -> Callable[[Scope], Scope]:
    """A request rewrite that sends a plain user's request for ``paths`` with the admin's key,
    as a server that skips a permission check answers it."""

    def request(scope: Scope) -> Scope:
        keys = {k.lower(): v for k, v in scope.get("headers", [])}
        key = keys.get(b"es-api-key", b"").decode()
        if key in (KEYS["user"], KEYS["peer"]) and paths(scope):
            return with_header(scope, "es-api-key", KEYS["admin"])
        return scope

    return request


# -- the variants -------------------------------------------------------------------------------


def faithful() -> ASGIApp:
    """The reference server as it is: the suite must pass."""
    return reference()


def revoked_answers_200() -> ASGIApp:
    """/status/ of a REVOKED task answers 200 instead of its state's 410."""

    def change(answer: Answer) -> None:
        if answer.path.endswith(("/status/", "/state/")) and answer.status == 410:
            answer.status = 200

    return Rewrite(reference(), change)


def done_true_on_failure() -> ASGIApp:
    """/done/ says done=true for a task that FAILED."""

    def change(answer: Answer) -> None:
        body = answer.json()
        if answer.path.endswith("/done/") and answer.status == 400 and isinstance(body, dict):
            answer.set_json({**body, "done": True})

    return Rewrite(reference(), change)


def status_without_task_id() -> ASGIApp:
    """/status/ leaves the task_id out of its body."""

    def change(answer: Answer) -> None:
        body = answer.json()
        if answer.path.endswith("/status/") and isinstance(body, dict) and "task_id" in body:
            del body["task_id"]
            answer.set_json(body)

    return Rewrite(reference(), change)


def log_flag_as_text() -> ASGIApp:
    """Paged log entries carry their flag as a string ("1") instead of an integer."""

    def change(answer: Answer) -> None:
        body = answer.json()
        if answer.path == "/api/task/log/" and isinstance(body, dict) and "count" in body:
            for entry in body["results"]:
                entry["flag"] = str(entry["flag"])
            answer.set_json(body)

    return Rewrite(reference(), change)


def unauthorized_401() -> ASGIApp:
    """Missing or bad credentials are answered 401 instead of 403."""

    def change(answer: Answer) -> None:
        body = answer.json()
        if (
            answer.status == 403
            and isinstance(body, dict)
            and body.get("detail") in CREDENTIAL_ERRORS
        ):
            answer.status = 401

    return Rewrite(reference(), change)


def malformed_id_404() -> ASGIApp:
    """A malformed task id is 404 "Task does not exist" instead of 403 "Permission denied"."""

    def change(answer: Answer) -> None:
        parts = answer.path.split("/")  # ["", "api", "task", task_id, ...]
        task_id = parts[3] if len(parts) > 3 and parts[2] == "task" else ""
        if answer.status == 403 and task_id not in ("", "log") and not TASK_ID.match(task_id):
            answer.status = 404
            answer.set_json({"detail": "Task does not exist"})

    return Rewrite(reference(), change)


def list_leaks_other_users_tasks() -> ASGIApp:
    """Plain users' task lists hold every running task of the datacenter."""
    return Rewrite(
        reference(),
        request=as_admin(lambda scope: scope["path"] == "/api/task/" and scope["method"] == "GET"),
    )


def peer_reads_any_task() -> ASGIApp:
    """Anyone may read any task's state: the UserTask permission is not checked."""
    return Rewrite(
        reference(),
        request=as_admin(
            lambda scope: (
                scope["method"] == "GET"
                and scope["path"].endswith(("/status/", "/state/", "/done/"))
            )
        ),
    )


def peer_cancels_any_task() -> ASGIApp:
    """Anyone may cancel any running task of the datacenter, not only its creator and admins."""
    return Rewrite(
        reference(),
        request=as_admin(
            lambda scope: scope["method"] == "PUT" and scope["path"].endswith("/cancel/")
        ),
    )


def stats_for_plain_users() -> ASGIApp:
    """Plain users get the task log statistics (an admin's), which are admin-only."""
    return Rewrite(
        reference(), request=as_admin(lambda scope: scope["path"] == "/api/task/log/stats/")
    )


def stats_off_by_one() -> ASGIApp:
    """The statistics count one failed entry more than the log holds."""

    def change(answer: Answer) -> None:
        body = answer.json()
        if (
            answer.path == "/api/task/log/stats/"
            and answer.method == "GET"
            and answer.status == 200
        ):
            answer.set_json({**body, "failed": body["failed"] + 1})

    return Rewrite(reference(), change)


def no_trailing_slash_redirect() -> ASGIApp:
    """A URL without its trailing slash is a plain 404 instead of a 301 to the slashed one."""

    def change(answer: Answer) -> None:
        if answer.status == 301:
            answer.status = 404
            answer.headers = [(b"content-type", b"text/plain")]
            answer.body = b"Resource not found"

    return Rewrite(reference(), change)


def server_error_on_bad_last() -> ASGIApp:
    """A `last` that is not an integer crashes the statistics (500) instead of 412."""
    server = reference()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/api/task/log/stats/":
            query = dict(parse_qsl(scope.get("query_string", b"").decode(), keep_blank_values=True))
            if "last" in query and not re.fullmatch(r"-?\d+", query["last"].strip()):
                await send(
                    {
                        "type": "http.response.start",
                        "status": 500,
                        "headers": [(b"content-type", b"text/plain")],
                    }
                )
                await send({"type": "http.response.body", "body": b"Server Error"})
                return
        await server(scope, receive, send)

    return app


def pages_of_50() -> ASGIApp:
    """The paged log holds 50 entries a page instead of 100."""

    def change(answer: Answer) -> None:
        body = answer.json()
        if answer.path == "/api/task/log/" and isinstance(body, dict) and "count" in body:
            answer.set_json({**body, "results": body["results"][:50]})

    return Rewrite(reference(), change)


def previous_link_on_page_two() -> ASGIApp:
    """Page 2 links previous to page 1, where real deployments leave it null."""

    def change(answer: Answer) -> None:
        body = answer.json()
        if (
            answer.path == "/api/task/log/"
            and answer.query.get("page") == "2"
            and isinstance(body, dict)
        ):
            query = urlencode({**answer.query, "page": "1"})
            answer.set_json({**body, "previous": f"http://testserver/api/task/log/?{query}"})

    return Rewrite(reference(), change)


def status_filter_ignored() -> ASGIApp:
    """The task log ignores its status filter."""

    def request(scope: Scope) -> Scope:
        if scope["path"] == "/api/task/log/":
            return with_query(scope, lambda q: {k: v for k, v in q.items() if k != "status"})
        return scope

    return Rewrite(reference(), request=request)


def order_by_ignored() -> ASGIApp:
    """The task log ignores order_by and always lists the newest entries first."""

    def request(scope: Scope) -> Scope:
        if scope["path"] == "/api/task/log/":
            return with_query(scope, lambda q: {k: v for k, v in q.items() if k != "order_by"})
        return scope

    return Rewrite(reference(), request=request)


def es_headers_missing() -> ASGIApp:
    """Answers lack the es_version, es_username and es_dc headers."""

    def change(answer: Answer) -> None:
        answer.headers = [(k, v) for k, v in answer.headers if not k.lower().startswith(b"es_")]

    return Rewrite(reference(), change)


def results_expire_early() -> ASGIApp:
    """A finished task reads PENDING a minute after it ended, not an hour."""
    server = reference()

    async def change(answer: Answer) -> None:
        body = answer.json()
        if not answer.path.endswith(("/status/", "/state/")) or not isinstance(body, dict):
            return
        if body.get("status") not in ("SUCCESS", "FAILURE", "REVOKED"):
            return
        task = await ask(server, "GET", f"/control/tasks/{body['task_id']}/")
        clock = await ask(server, "GET", "/control/clock/")
        ended = (task or {}).get("revoked_at") or (task or {}).get("ends_at")
        if ended and datetime.fromisoformat(clock["now"]) >= datetime.fromisoformat(
            ended
        ) + timedelta(seconds=60):
            answer.status = 201
            answer.set_json({"status": "PENDING", "result": None, "task_id": body["task_id"]})

    return Rewrite(server, change)


def documented_deviations() -> ASGIApp:
    """Not broken: the reference server with the ways real deployments differ from the spec
    that the spec documents. A plain 404 labelled JSON for an unroutable task id,
    show_running=yes read as true, and a cancel or delete body that is not understood ignored.
    """
    booleans = {"t", "T", "true", "True", "TRUE", "1", "f", "F", "false", "False", "FALSE", "0", ""}

    def lenient(query: dict[str, str]) -> dict[str, str]:
        if query.get("page"):
            for name in ("show_running", "hide_auto"):
                if name in query and query[name] not in booleans:
                    query[name] = "true"
        return query

    def request(scope: Scope) -> Scope:
        if scope["path"] == "/api/task/log/":
            return with_query(scope, lenient)
        return scope

    def change(answer: Answer) -> None:
        if answer.status == 404 and answer.body == b"Resource not found":
            answer.headers = [(b"content-type", b"application/json")]

    # on a server that otherwise answers as real deployments do
    rewritten = Rewrite(behaves_as_real(), change, request)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] in ("PUT", "DELETE")
            and scope["path"].startswith("/api/task/")
        ):
            headers = [
                (k, v)
                for k, v in scope["headers"]
                if k.lower() not in (b"content-type", b"content-length")
            ]
            scope = {**scope, "headers": headers}

            async def receive_nothing() -> Message:
                return {"type": "http.request", "body": b"", "more_body": False}

            await rewritten(scope, receive_nothing, send)
            return
        await rewritten(scope, receive, send)

    return app


VARIANTS = [
    Variant(revoked_answers_200, "cancel_answers_like_status"),
    Variant(done_true_on_failure, "status_and_done_agree_with_the_state_table"),
    Variant(status_without_task_id, "answers_to_the_named_checks_match_the_spec"),
    Variant(log_flag_as_text, "answers_to_the_named_checks_match_the_spec"),
    Variant(unauthorized_401, "missing_or_bad_credentials_get_403_with_the_real_detail"),
    Variant(malformed_id_404, "malformed_task_ids_are_permission_denied"),
    Variant(list_leaks_other_users_tasks, "peer_cannot_list_a_users_tasks"),
    Variant(peer_reads_any_task, "peer_cannot_read_a_users_tasks"),
    Variant(peer_cancels_any_task, "peer_cannot_cancel_a_users_tasks"),
    Variant(stats_for_plain_users, "stats_are_admin_only"),
    Variant(stats_off_by_one, "stats_equal_the_counts_of_the_paged_log"),
    Variant(no_trailing_slash_redirect, "missing_trailing_slash_redirects_permanently"),
    Variant(server_error_on_bad_last, "not_a_server_error"),
    Variant(pages_of_50, "log_pages_hold_100_entries_and_link_to_each_other"),
    Variant(previous_link_on_page_two, "log_pages_hold_100_entries_and_link_to_each_other"),
    Variant(status_filter_ignored, "log_filter_is_applied"),
    Variant(order_by_ignored, "log_order_by_is_applied"),
    Variant(es_headers_missing, "answers_carry_the_es_headers"),
    Variant(results_expire_early, "task_state_never_goes_backwards"),
]


def all_variants() -> list[Variant]:
    from tests.contract_tests import broken_eyes, broken_upgrades

    return [*VARIANTS, *broken_upgrades.VARIANTS, *broken_eyes.VARIANTS]
