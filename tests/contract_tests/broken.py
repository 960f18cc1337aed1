"""Deliberately broken reference servers, one defect each, to prove the contract suite catches
drift.

Each variant is a function returning an ASGI app built around a fresh reference server: either
a :class:`Rewrite` of its answers (or requests), or the server with one rule of its deployment
replaced. The control API under ``/control/`` is left alone, so the suite can still make tasks.
``VARIANTS`` maps each to the check that must name it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mockserver import ReferenceServer, Settings, create_app
from mockserver.errors import CannotCancel
from mockserver.lifecycle import TaskStatus

API = "/api/"
CREDENTIAL_ERRORS = {
    "Authentication credentials were not provided.",
    "Invalid API key",
    "Invalid token.",
}
TASK_ID = re.compile(
    r"^[0-9]+[deamif][0-9]+[du][0-9]+-[A-Za-z0-9]{8}-[A-Za-z0-9]{4}-[A-Za-z0-9]{4}-[A-Za-z0-9]{4}$"
)


def reference() -> ReferenceServer:
    return create_app(Settings(throttle=False))


@dataclass
class Answer:
    """An answer of the API on its way out, for a rewrite to change."""

    method: str
    path: str
    query: dict[str, str]
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def set_json(self, value: Any) -> None:
        self.body = json.dumps(value).encode()
        self.headers = [(k, v) for k, v in self.headers if k.lower() != b"content-type"]
        self.headers.append((b"content-type", b"application/json"))


class Rewrite:
    """Passes the requests of ``/api/`` to the server, then lets ``change`` rewrite the answer.

    :param request: may rewrite a request's scope first (its path or query string).
    """

    def __init__(
        self,
        app: ASGIApp,
        change: Callable[[Answer], None] = lambda answer: None,
        request: Callable[[Scope], Scope] = lambda scope: scope,
    ) -> None:
        self.app, self.change, self.request = app, change, request

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(API):
            await self.app(scope, receive, send)
            return
        scope = self.request(scope)
        start: Message = {}
        chunks: list[bytes] = []

        async def buffer(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body"):
                    await finish()

        async def finish() -> None:
            query = dict(parse_qsl(scope.get("query_string", b"").decode(), keep_blank_values=True))
            answer = Answer(
                scope["method"],
                scope["path"],
                query,
                start["status"],
                list(start.get("headers", [])),
                b"".join(chunks),
            )
            self.change(answer)
            headers = [(k, v) for k, v in answer.headers if k.lower() != b"content-length"]
            headers.append((b"content-length", str(len(answer.body)).encode()))
            await send({"type": "http.response.start", "status": answer.status, "headers": headers})
            await send({"type": "http.response.body", "body": answer.body})

        await self.app(scope, receive, buffer)


def _with_query(scope: Scope, change: Callable[[dict[str, str]], dict[str, str]]) -> Scope:
    query = dict(parse_qsl(scope.get("query_string", b"").decode(), keep_blank_values=True))
    return {**scope, "query_string": urlencode(change(query)).encode()}


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
    server = reference()
    deployment = server.deployment
    store = deployment.store
    deployment.task_list = lambda user, dc: [  # type: ignore[method-assign]
        task.id for task in store.listed_tasks(deployment.now(), dc.id, None)
    ]
    return server


def _unchecked(server: ReferenceServer, *operation_ids: str) -> None:
    """The operations' x-permission is not applied (the pipeline applies it first)."""
    assert server.operations is not None
    for operation_id in operation_ids:
        server.operations.by_id(operation_id).permission = None


def peer_reads_any_task() -> ASGIApp:
    """Anyone may read any task's state: the UserTask permission is not checked."""
    server = reference()
    _unchecked(server, "taskStatus", "taskState", "taskDone")
    deployment = server.deployment
    deployment.task_status = lambda user, task_id: deployment.status_at(  # type: ignore[method-assign]
        task_id, deployment.now()
    )
    return server


def peer_cancels_any_task() -> ASGIApp:
    """Anyone may cancel any running task of the datacenter, not only its creator and admins."""
    server = reference()
    _unchecked(server, "taskCancel")
    deployment = server.deployment

    def task_cancel(user: Any, dc: Any, task_id: str, *, force: bool = False) -> Any:
        listed = deployment.store.listed_tasks(deployment.now(), dc.id, None)
        task = next((t for t in listed if t.id == task_id), None)
        if task is None:
            raise CannotCancel()
        deployment._revoke(task, deployment.now(), terminate=True, signal=15)
        return deployment.now() + timedelta(seconds=1)

    deployment.task_cancel = task_cancel  # type: ignore[method-assign]
    return server


def stats_for_plain_users() -> ASGIApp:
    """Plain users get the task log statistics (an admin's), which are admin-only."""
    server = reference()
    _unchecked(server, "taskLogStats")
    deployment = server.deployment
    original = deployment.log_stats
    superadmin = next(user for user in deployment.users.values() if user.is_staff)
    deployment.log_stats = lambda user, dc, last: original(superadmin, dc, last)  # type: ignore[method-assign]
    return server


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
            return _with_query(scope, lambda q: {k: v for k, v in q.items() if k != "status"})
        return scope

    return Rewrite(reference(), request=request)


def order_by_ignored() -> ASGIApp:
    """The task log ignores order_by and always lists the newest entries first."""

    def request(scope: Scope) -> Scope:
        if scope["path"] == "/api/task/log/":
            return _with_query(scope, lambda q: {k: v for k, v in q.items() if k != "order_by"})
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
    deployment = server.deployment
    original = deployment.status_at

    def status(task_id: str, moment: Any) -> TaskStatus:
        task = deployment.store.get_task(task_id)
        ended = task.ended_at if task is not None else None
        if ended is not None and moment >= ended + timedelta(seconds=60):
            return TaskStatus.unknown(task_id)
        return original(task_id, moment)

    deployment.status_at = status  # type: ignore[method-assign]
    return server


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
            return _with_query(scope, lenient)
        return scope

    def change(answer: Answer) -> None:
        if answer.status == 404 and answer.body == b"Resource not found":
            answer.headers = [(b"content-type", b"application/json")]

    rewritten = Rewrite(reference(), change, request)

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


@dataclass(frozen=True)
class Variant:
    factory: Callable[[], ASGIApp]
    check: str  # the check the suite must fail with

    @property
    def name(self) -> str:
        return self.factory.__name__


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
