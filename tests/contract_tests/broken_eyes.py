"""Broken reference servers for the rules the suite sent the right requests for but did not
judge (issue 16): filter recall, paging links, the one answer of each kind of task id, the
throttle, result expiry, tokens and logout, OPTIONS, 406, a plain user's later pages,
es_username, the second cancel, malformed answers, and messages that must point the right
way."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from starlette.types import ASGIApp, Scope

from tests.contract_tests.proxy import (
    KEYS,
    Answer,
    Rewrite,
    Variant,
    ask,
    header,
    made,
    reference,
    throttled_reference,
    with_header,
)

CODES = {"SUCCESS": 200, "FAILURE": 400, "REVOKED": 410}


def _is_log_page(answer: Answer) -> bool:
    body = answer.json()
    return answer.path == "/api/task/log/" and isinstance(body, dict) and "count" in body


def status_filter_truncated() -> ASGIApp:
    """Filtered by status, the log keeps every other entry it names (and counts half)."""

    def change(answer: Answer) -> None:
        body = answer.json()
        if _is_log_page(answer) and answer.query.get("status") and answer.query.get("page"):
            answer.set_json(
                {**body, "count": (body["count"] + 1) // 2, "results": body["results"][::2]}
            )

    return Rewrite(reference(), change)


def links_drop_the_query() -> ASGIApp:
    """next and previous keep only the page: every other parameter is lost."""

    def change(answer: Answer) -> None:
        body = answer.json()
        if _is_log_page(answer):
            for name in ("next", "previous"):
                if body[name]:
                    page = body[name].split("page=")[1].split("&")[0]
                    body[name] = f"http://testserver/api/task/log/?page={page}"
            answer.set_json(body)

    return Rewrite(reference(), change)


def links_on_another_host() -> ASGIApp:
    """next and previous lead to the server's own name behind the proxy, not the request's."""

    def change(answer: Answer) -> None:
        body = answer.json()
        if _is_log_page(answer):
            for name in ("next", "previous"):
                if body[name]:
                    body[name] = body[name].replace("http://testserver", "http://backend:8000")
            answer.set_json(body)

    return Rewrite(reference(), change)


def dummy_id_reads_pending() -> ASGIApp:
    """A dummy id reads PENDING (201), like an unknown one, instead of 404."""

    def change(answer: Answer) -> None:
        body = answer.json()
        if answer.status == 404 and isinstance(body, dict):
            if body.get("detail") == "Task does not exist (anymore)":
                task_id = answer.path.split("/")[3]
                answer.status = 201
                if answer.path.endswith("/done/"):
                    answer.set_json({"done": False, "task_id": task_id})
                else:
                    answer.set_json({"status": "PENDING", "result": None, "task_id": task_id})

    return Rewrite(reference(), change)


def unknown_id_404() -> ASGIApp:
    """An id the server never saw is 404 Task does not exist on status, instead of PENDING."""
    server = reference()

    async def change(answer: Answer) -> None:
        body = answer.json()
        if answer.path.endswith("/status/") and answer.status == 201 and isinstance(body, dict):
            known = await ask(server, "GET", f"/control/tasks/{body['task_id']}/")
            if not isinstance(known, dict) or "task_id" not in known:
                answer.status = 404
                answer.set_json({"detail": "Task does not exist"})

    return Rewrite(server, change)


def throttle_body_changed() -> ASGIApp:
    """A throttled request is answered 429 {"error": "slow down"}."""

    def change(answer: Answer) -> None:
        if answer.status == 429:
            answer.set_json({"error": "slow down"})

    return Rewrite(throttled_reference(), change)


def faithful_throttled() -> ASGIApp:
    """Not broken: the reference server throttling as real deployments do."""
    return throttled_reference()


def never_throttles() -> ASGIApp:
    """No throttle at all: any number of requests, never a 429."""
    return reference()


def auth_probe_throttled() -> ASGIApp:
    """Requests without valid credentials are throttled before they are refused."""

    def answer(scope: Scope) -> Answer | None:
        if header(scope, "es-api-key") in KEYS.values() or header(scope, "authorization"):
            return None
        if scope["path"] == "/api/accounts/login/":
            return None
        ready = made(
            429,
            {"detail": "Request was throttled. Expected available in 0 seconds."},
            request=scope,
        )
        ready.headers.append((b"retry-after", b"0"))
        return ready

    return Rewrite(reference(), answer=answer)


def _ended(task: Any, clock: Any) -> timedelta | None:
    ended = (task or {}).get("revoked_at") or (task or {}).get("ends_at")
    if not ended or not clock:
        return None
    return datetime.fromisoformat(clock["now"]) - datetime.fromisoformat(ended)


def results_never_expire() -> ASGIApp:
    """A finished task keeps reading its end state after its result's hour."""
    server = reference()

    async def change(answer: Answer) -> None:
        body = answer.json()
        if not answer.path.endswith(("/status/", "/state/")) or answer.status != 201:
            return
        if not isinstance(body, dict) or body.get("status") != "PENDING":
            return
        task = await ask(server, "GET", f"/control/tasks/{body['task_id']}/")
        since = _ended(task, await ask(server, "GET", "/control/clock/"))
        state = (task or {}).get("outcome") or (task or {}).get("state")
        if since is not None and since >= timedelta(hours=1) and state in CODES:
            answer.status = CODES[state]
            answer.set_json(
                {"status": state, "result": task.get("result"), "task_id": body["task_id"]}
            )

    return Rewrite(server, change)


def token_never_expires() -> ASGIApp:
    """A login's token goes on working after its hour (until a logout)."""
    server = reference()
    tokens: dict[str, str] = {}  # token → the API key of its user

    async def change(answer: Answer) -> None:
        body = answer.json()
        if (
            answer.path == "/api/accounts/login/"
            and answer.status == 200
            and isinstance(body, dict)
        ):
            accounts = await ask(server, "GET", "/control/accounts/")
            name = answer.header("es_username") or ""
            for account in accounts or []:
                if account["username"] == name or not name:
                    tokens.setdefault(body["token"], account["api_key"])
                    break
            return
        token = (answer.request_headers.get("authorization") or "").removeprefix("Token ")
        if answer.path == "/api/accounts/logout/":
            tokens.pop(token, None)
        elif token in tokens and answer.status == 403:
            again = await ask(server, answer.method, answer.path, key=tokens[token])
            answer.status = 200
            answer.set_json(again)

    return Rewrite(server, change)


def options_without_allow() -> ASGIApp:
    """OPTIONS answers leave out the Allow header."""

    def change(answer: Answer) -> None:
        if answer.method == "OPTIONS":
            answer.headers = [(k, v) for k, v in answer.headers if k.lower() != b"allow"]

    return Rewrite(reference(), change)


def accept_ignored() -> ASGIApp:
    """An Accept header that excludes JSON is ignored: the answer is JSON, 200."""

    def request(scope: Scope) -> Scope:
        if (header(scope, "accept") or "").startswith(("text/html", "application/xml")):
            return with_header(scope, "accept", "application/json")
        return scope

    return Rewrite(reference(), request=request)


def plain_users_page_two_404() -> ASGIApp:
    """A plain user's log has no page past the first: 404 Invalid page."""

    def change(answer: Answer) -> None:
        page = answer.query.get("page", "")
        plain = answer.key in (KEYS["user"], KEYS["peer"])
        if answer.path == "/api/task/log/" and plain and page.isdigit() and int(page) > 1:
            answer.status = 404
            answer.set_json({"detail": "Invalid page."})

    return Rewrite(reference(), change)


def es_username_always_admin() -> ASGIApp:
    """es_username says admin on every answer, whoever asked."""

    def change(answer: Answer) -> None:
        answer.headers = [
            (k, b"admin" if k.lower() == b"es_username" else v) for k, v in answer.headers
        ]

    return Rewrite(reference(), change)


def second_cancel_accepted() -> ASGIApp:
    """Cancelling a task again answers 201 STARTED, though it is revoked."""
    cancelled: set[str] = set()

    def change(answer: Answer) -> None:
        if answer.method != "PUT" or not answer.path.endswith("/cancel/"):
            return
        task_id = answer.path.split("/")[3]
        if task_id in cancelled and answer.status in (406, 410):
            answer.status = 201
            answer.set_json({"status": "STARTED", "result": None, "task_id": task_id})
        elif 200 <= answer.status < 300 or answer.status == 410:
            cancelled.add(task_id)

    return Rewrite(reference(), change)


def date_header_doubled() -> ASGIApp:
    """Every answer carries its Date header twice (a proxy adding its own)."""

    def change(answer: Answer) -> None:
        for _ in range(2 - sum(1 for k, _v in answer.headers if k.lower() == b"date")):
            answer.headers.append((b"date", b"Tue, 01 Dec 2026 10:00:00 GMT"))

    return Rewrite(reference(), change)


def gzip_label_not_gzip() -> ASGIApp:
    """The log's answers are labelled Content-Encoding: gzip but are plain JSON."""

    def change(answer: Answer) -> None:
        if answer.path == "/api/task/log/" and answer.status == 200:
            answer.headers.append((b"content-encoding", b"gzip"))

    return Rewrite(reference(), change)


def foreign_task_404() -> ASGIApp:
    """Another plain user's read of a user's task is 404 Task does not exist, not 403."""

    def change(answer: Answer) -> None:
        body = answer.json()
        if answer.key == KEYS["peer"] and answer.status == 403 and isinstance(body, dict):
            if body.get("detail") == "Permission denied" and answer.path.startswith("/api/task/"):
                answer.status = 404
                answer.set_json({"detail": "Task does not exist"})

    return Rewrite(reference(), change)


def times_shifted_an_hour() -> ASGIApp:
    """Every time in the log is an hour late (written in another time zone but labelled UTC)."""

    def shift(value: str) -> str:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00")) + timedelta(hours=1)
        return moment.isoformat().replace("+00:00", "Z" if value.endswith("Z") else "+00:00")

    def change(answer: Answer) -> None:
        body = answer.json()
        if answer.path == "/api/task/log/" and isinstance(body, dict) and "results" in body:
            for entry in body["results"]:
                entry["time"] = shift(entry["time"])
            answer.set_json(body)

    return Rewrite(reference(), change)


VARIANTS = [
    Variant(
        status_filter_truncated,
        "log_filter_is_applied",
        "log-filter-recall: the task log filtered by {'status': 'PENDING'} counts",
        ("-k", "filter_is_applied"),
    ),
    Variant(
        links_drop_the_query,
        "log_links_keep_the_host_and_carry_the_query",
        "repeated ones kept, sorted by name",
        ("-k", "log_links"),
    ),
    Variant(
        links_on_another_host,
        "log_links_keep_the_host_and_carry_the_query",
        "http://backend:8000",
        ("-k", "log_links"),
    ),
    Variant(
        dummy_id_reads_pending,
        "unknown_and_dummy_ids_get_their_one_answer",
        "a dummy id of the user's",
        ("-k", "dummy_ids"),
    ),
    Variant(
        unknown_id_404,
        "unknown_and_dummy_ids_get_their_one_answer",
        "an id of the user's that the deployment never saw",
        ("-k", "dummy_ids"),
    ),
    Variant(
        throttle_body_changed,
        "throttled_answers_say_when_to_retry",
        "the spec's is",
        ("--esdc-check-throttle", "-k", "throttle"),
    ),
    Variant(
        never_throttles,
        "throttled_answers_say_when_to_retry",
        "failed logins in a row were never throttled",
        ("--esdc-check-throttle", "-k", "throttle"),
    ),
    Variant(
        auth_probe_throttled,
        "credentials_are_checked_before_the_throttle",
        "real deployments check credentials first and answer 403",
        ("-k", "credentials"),
    ),
    Variant(
        results_never_expire,
        "results_expire_an_hour_after_the_end",
        "so its result has expired",
        ("-k", "expire"),
    ),
    Variant(
        token_never_expires,
        "a_login_token_works_for_an_hour_and_logout_ends_it",
        "s after its login has expired",
        ("-k", "login_token"),
    ),
    Variant(
        options_without_allow,
        "options_describe_each_endpoint",
        "says Allow: None",
        ("-k", "options"),
    ),
    Variant(
        accept_ignored,
        "an_accept_without_json_is_406",
        "Accept: text/html excludes JSON",
        ("-k", "accept_without_json"),
    ),
    Variant(
        plain_users_page_two_404,
        "a_plain_users_log_pages_past_the_first",
        "but its page 2 could not be read",
        ("-k", "plain_users_log"),
    ),
    Variant(
        es_username_always_admin,
        "es_username_names_the_caller",
        "es_username is 'admin'",
        ("-k", "es_headers or es_username"),
    ),
    Variant(
        second_cancel_accepted,
        "cancel_answers_like_status",
        "cancelling it again answered STARTED",
        ("-k", "cancel_answers"),
    ),
    Variant(
        date_header_doubled,
        "answers_are_well_formed",
        "the date header is sent 2 times",
        ("-k", "well_formed or state_table"),
    ),
    Variant(
        gzip_label_not_gzip,
        "answers_are_well_formed",
        "labelled Content-Encoding: gzip but is not gzip",
        ("-k", "well_formed or log_without_page"),
    ),
    Variant(
        foreign_task_404,
        "peer_cannot_read_a_users_tasks",
        'answered 404 {"detail": "Task does not exist"}, which is not how a task of another '
        "user is refused",
        ("-k", "peer_cannot_read"),
    ),
    Variant(
        times_shifted_an_hour,
        "log_entries_carry_the_time_they_were_written",
        "+1 h off: its time is not the UTC time it was written",
        ("-k", "carry_the_time"),
    ),
]
