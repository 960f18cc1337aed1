"""The reference server answering as the recorded answers of Danube Cloud 4.6 do wherever the
spec allows them (``../shared/reference/real-4.6/transcript.jsonl``): the suite must pass it, and
report its known defects apart. Each rewrite below is one way real deployments answer."""

from __future__ import annotations

import json
from collections import Counter
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

from starlette.types import ASGIApp, Scope

from tests.contract_tests.proxy import Answer, Rewrite, ask, made, reference

SERVER_ERROR = b"Server Error"


def _without_es(answer: Answer, *names: str) -> None:
    names = names or ("es_version", "es_username", "es_dc")
    answer.headers = [(k, v) for k, v in answer.headers if k.decode().lower() not in names]


def _set_header(answer: Answer, name: str, value: str) -> None:
    answer.headers = [(k, v) for k, v in answer.headers if k.decode().lower() != name]
    answer.headers.append((name.encode(), value.encode()))


def _real_link(link: str | None, request_query: str) -> str | None:
    """next or previous as real deployments build it from the request's query: blank values
    dropped, repeated ones kept, the page replaced, sorted by name."""
    if link is None:
        return None
    parts = urlsplit(link)
    query = parse_qs(request_query)
    query["page"] = parse_qs(parts.query)["page"]
    return urlunsplit(
        (parts.scheme, parts.netloc, parts.path, urlencode(sorted(query.items()), doseq=True), "")
    )


def _defect(scope: Scope) -> bool:
    """The requests Danube Cloud 4.6 answers 500 (the spec's x-known-defects)."""
    query = parse_qs(scope.get("query_string", b"").decode(), keep_blank_values=True)
    dc = "".join(query.get("dc", []))
    if dc and (not dc.isascii() or "\x00" in dc):
        return True
    name = "".join(query.get("object_name", []))
    return "\x00" in name and bool(query.get("object_type")) and bool(query.get("page"))


def behaves_as_real() -> ASGIApp:
    """Not broken: real deployments' answers where the spec allows them."""
    server = reference()
    names: dict[str, str] = {}
    reads: Counter[str] = Counter()

    def answer(scope: Scope) -> Answer | None:
        if _defect(scope):
            ready = made(500, None, request=scope)
            ready.headers = [(b"content-type", b"application/json")]
            ready.body = SERVER_ERROR
            return ready
        return None

    async def change(answer: Answer) -> None:
        if not names:
            for account in await ask(server, "GET", "/control/accounts/") or []:
                names[account["api_key"]] = account["username"]
        body = answer.json()
        authenticated = answer.key in names or "authorization" in answer.request_headers
        credential_error = (
            answer.status == 403
            and isinstance(body, dict)
            and (
                body.get("detail")
                in ("Invalid API key", "Authentication credentials were not provided.")
                or str(body.get("detail", "")).startswith("Invalid token")
            )
        )
        # es_* only on answers built with the request: none on OPTIONS or a failed login, no
        # es_dc without a caller, es_username naming the caller on a 406 and a login
        if (answer.method == "OPTIONS" and answer.status == 200) or (
            answer.path == "/api/accounts/login/" and answer.status != 200
        ):
            _without_es(answer)
        elif not authenticated or credential_error:
            _without_es(answer, "es_dc")
        if answer.status == 406 and answer.key in names:
            _set_header(answer, "es_username", names[answer.key])
        if answer.path == "/api/accounts/login/" and answer.status == 200:
            try:
                who = json.loads(answer.request_body or b"{}").get("username", "")
            except ValueError:
                who = ""
            _set_header(answer, "es_username", str(who))
        # paging links as real deployments build them
        if answer.path.endswith("/task/log/") and isinstance(body, dict) and "count" in body:
            body["next"] = _real_link(body["next"], answer.raw_query)
            body["previous"] = _real_link(body["previous"], answer.raw_query)
            answer.set_json(body)
        # the callback phase: a running task's second STARTED reads PENDING for a moment
        if isinstance(body, dict) and body.get("status") == "STARTED":
            reads[body["task_id"]] += 1
            if reads[body["task_id"]] == 2:
                answer.set_json({**body, "status": "PENDING"})
        # a cancel waits a second and answers the state it reads then: still being revoked
        if answer.method == "PUT" and answer.path.endswith("/cancel/") and answer.status == 410:
            if reads[f"cancel:{answer.path}"] == 0:
                reads[f"cancel:{answer.path}"] += 1
                answer.status = 201
                answer.set_json({"status": "STARTED", "result": None, "task_id": body["task_id"]})

    return Rewrite(server, change, answer=answer)
