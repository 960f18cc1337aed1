"""The rules every answer is held to, whoever asked (a named check or schemathesis).

:func:`judge` reads one exchange and says which rules it breaks: ``well-formed-answers``,
``answer-time``, ``es-headers``, ``es-username`` and ``documented-answers``;
:func:`judge_throttled` does the same for a 429 (``throttle-answer``,
``auth-before-throttle``), which the pacer sees even when it waits it out and sends again.
A 500 that a known defect of the deployment's version explains (the spec's
``x-known-defects``) is that defect, not a failure: :func:`known_defect` names it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from openapi_schema_validator import OAS30Validator

from contract_tests.client import API_KEY_HEADER, Exchange
from contract_tests.facts import Operation, SpecFacts
from contract_tests.pacing import ANONYMOUS, UNCOUNTED
from esdc_api.deviations import KnownDefect, Request, known_defects

#: An answer slower than this breaks ``answer-time`` (real cancels wait about a second).
SLOW_SECONDS = 5.0
#: The example names of the spec's credential errors: answers without a caller.
CREDENTIAL_EXAMPLES = ("noCredentials", "invalidApiKey", "invalidToken", "noApiAccess")


@dataclass(frozen=True)
class Finding:
    """A rule an answer broke: ``problem`` says how, in a form that repeats for the same fault."""

    rule: str
    problem: str


class AnswerJudge:
    """The rules of every answer, with what they need of the spec looked up once.

    :param usernames: each identity's account name where the suite knows it (reference
        servers); otherwise the first name an identity's answers give is held to.
    """

    def __init__(self, facts: SpecFacts, usernames: Mapping[str, str] | None = None) -> None:
        self.facts = facts
        self.usernames: dict[str, str] = dict(usernames or {})
        self._validators: dict[tuple[str, int, str], Any] = {}
        self._defects = known_defects(facts.spec)
        self.credential_details = {
            str(facts.example("taskList", 403, name)["detail"])
            for name in CREDENTIAL_EXAMPLES
            if _has_example(facts, "taskList", 403, name)
        }

    def __repr__(self) -> str:
        return f"AnswerJudge({self.facts!r})"

    # -- one answer ------------------------------------------------------------------------------

    def authenticated(self, exchange: Exchange) -> bool:
        """Whether the answer went to a caller the deployment recognised."""
        if exchange.identity == ANONYMOUS and "Authorization" not in exchange.request_headers:
            return False
        return not (exchange.status == 403 and exchange.detail in self.credential_details)

    def judge(
        self, exchange: Exchange, *, documented: bool = True, version: str | None = None
    ) -> list[Finding]:
        """The rules ``exchange`` breaks.

        :param documented: also hold it to the spec's responses (the named checks' answers;
            schemathesis judges its own).
        """
        routed = self.facts.route(exchange.method, exchange.path)
        op = routed[0] if routed is not None else None
        label = op.label if op is not None else f"{exchange.method} {exchange.path}"
        found = [Finding("well-formed-answers", f"{label}: {p}") for p in exchange.problems]
        media = (exchange.header("content-type") or "").split(";")[0].strip().lower()
        if 200 <= exchange.status < 300 and media == "application/json" and not exchange.is_json:
            found.append(
                Finding(
                    "well-formed-answers",
                    f"{label} answered {exchange.status} labelled application/json with a body "
                    f"that is not JSON: {exchange.text[:60]!r}",
                )
            )
        if exchange.elapsed > SLOW_SECONDS:
            found.append(
                Finding(
                    "answer-time",
                    f"{label} took {exchange.elapsed:.1f} s to answer {exchange.status} "
                    f"(more than {SLOW_SECONDS:g} s)",
                )
            )
        if op is None:
            return found
        if self.known_defect(exchange, version) is not None:
            return found
        found += self._es_headers(op, exchange)
        if documented:
            problem = self._nonconformance(op, exchange)
            if problem is not None:
                found.append(Finding("documented-answers", problem))
        return found

    def _es_headers(self, op: Operation, exchange: Exchange) -> list[Finding]:
        response = self.facts.response(op.operation_id, exchange.status)
        if response is None:
            return []
        authenticated = self.authenticated(exchange)
        # the three of every answer (es_task_response comes only with some of a response's)
        wanted = [name for name in response.get("headers", {}) if name in self.facts.es_headers]
        if not authenticated:
            wanted = [name for name in wanted if name != "es_dc"]  # real: only with a caller
        found = []
        missing = [name for name in wanted if exchange.header(name) is None]
        if missing:
            who = "an authenticated caller" if authenticated else "a caller without credentials"
            found.append(
                Finding(
                    "es-headers",
                    f"{op.label} answered {exchange.status} to {who} without {', '.join(missing)}",
                )
            )
        name = exchange.header("es_username")
        listed = "es_username" in response.get("headers", {})
        if name is None or not listed or "Authorization" in exchange.request_headers:
            return found  # judged where the response says it names the caller
        if not authenticated:
            if name != "" and op.operation_id != "login":
                found.append(
                    Finding(
                        "es-username",
                        f"{op.label} answered a caller without credentials with "
                        f"es_username {name!r}; it is empty when nobody is logged in",
                    )
                )
            return found
        if exchange.identity == ANONYMOUS:
            return found
        expected = self.usernames.setdefault(exchange.identity, name)
        if name != expected:
            found.append(
                Finding(
                    "es-username",
                    f"es_username is {name!r} on {op.label} as {exchange.identity}, but "
                    f"{expected!r} "
                    + (
                        "is that identity's account"
                        if expected
                        else "on its earlier answers; it names the caller"
                    ),
                )
            )
        elif not name:
            found.append(
                Finding(
                    "es-username",
                    f"{op.label} answered {exchange.identity} with an empty es_username; it "
                    "names the caller",
                )
            )
        return found

    def _nonconformance(self, op: Operation, exchange: Exchange) -> str | None:
        """What is wrong with an answer by the spec's responses, or ``None``."""
        if self.facts.response(op.operation_id, exchange.status) is None:
            return f"{op.label} answered {exchange.status}, which the spec does not document"
        media = (exchange.header("content-type") or "").split(";")[0].strip()
        if media != "application/json" or not exchange.is_json:
            return None  # a media type the spec lacks is schemathesis's to judge
        key = (op.operation_id, exchange.status, media)
        if key not in self._validators:
            schema = self.facts.response_schema(op.operation_id, exchange.status, media)
            self._validators[key] = (
                None
                if schema is None
                else OAS30Validator(schema, format_checker=OAS30Validator.FORMAT_CHECKER)
            )
        validator = self._validators[key]
        if validator is None:
            return (
                f"{op.label} answered {exchange.status} with JSON, which the spec does not document"
            )
        error = next(iter(validator.iter_errors(exchange.json())), None)
        if error is None:
            return None
        where = "/".join(str(p) for p in error.absolute_path) or "the body"
        return (
            f"{op.label} answered {exchange.status} with a body that breaks the spec at {where}: "
            f"{error.message[:200]}"
        )

    # -- known defects ---------------------------------------------------------------------------

    def request_of(self, exchange: Exchange) -> Request:
        """The exchange's request as the spec's ``x-known-defects`` conditions read it."""
        routed = self.facts.route(exchange.method, exchange.path)
        path = exchange.path
        base = self.facts.base_path
        if path.startswith(base + "/"):
            path = "/api" + path[len(base) :]
        headers = {k.lower(): v for k, v in exchange.request_headers.items()}
        if API_KEY_HEADER.lower() in headers or "authorization" in headers:
            credentials = "valid" if exchange.secret else "invalid"
            if exchange.status == 403 and exchange.detail in self.credential_details:
                credentials = "invalid"
        else:
            credentials = "none"
        return Request(
            method=exchange.method,
            path=path,
            operation_id=routed[0].operation_id if routed is not None else None,
            query=tuple(parse_qsl(urlsplit(exchange.url).query, keep_blank_values=True)),
            headers=headers,
            body=exchange.body.decode("utf-8", "replace") if exchange.body is not None else None,
            credentials=credentials,
        )

    def known_defect(self, exchange: Exchange, version: str | None) -> KnownDefect | None:
        """The known defect of ``version`` that this answer is, if it is one."""
        if exchange.status < 500:
            return None
        request = self.request_of(exchange)
        for defect in self._defects:
            if defect.applies_to(version) and defect.explains(request, exchange.status):
                return defect
        return None

    def avoids(self, request: Request) -> bool:
        """Whether a generated request would run into a known defect (of any version)."""
        return any(defect.when.holds(request) for defect in self._defects)


def _has_example(facts: SpecFacts, operation_id: str, status: int, name: str) -> bool:
    try:
        facts.example(operation_id, status, name)
    except KeyError:
        return False
    return True


#: The wording of a throttled request's detail (the spec's Throttled example, any number).
THROTTLED_DETAIL = re.compile(
    r"^Request was throttled\. Expected available in \d+(?:\.\d+)? seconds?\.$"
)


def judge_throttled(
    facts: SpecFacts, identity: str, what: str, retry_after: str | None, body: str
) -> list[Finding]:
    """The rules a 429 breaks; ``what`` is ``METHOD /path`` of its request."""
    found = []
    if retry_after is None or not re.fullmatch(r"\d+", retry_after.strip()):
        shown = "no Retry-After" if retry_after is None else f"Retry-After {retry_after!r}"
        found.append(
            Finding(
                "throttle-answer",
                f"a 429 to {what} came with {shown}; it must say how many seconds to wait "
                "(an integer)",
            )
        )
    try:
        detail = json.loads(body).get("detail")
    except (ValueError, AttributeError):
        detail = None
    if not isinstance(detail, str) or not THROTTLED_DETAIL.match(detail):
        found.append(
            Finding(
                "throttle-answer",
                f"a 429 to {what} answered {' '.join(body.split())[:120]!r}; the spec's is "
                '{"detail": "Request was throttled. Expected available in N seconds."}',
            )
        )
    method, _, path = what.partition(" ")
    routed = facts.route(method, path.split("?")[0])
    if identity in (ANONYMOUS, UNCOUNTED) and routed is not None and not routed[0].is_public:
        found.append(
            Finding(
                "auth-before-throttle",
                f"{routed[0].label} without credentials was answered 429 (throttled); real "
                "deployments check credentials first and answer 403",
            )
        )
    return found
