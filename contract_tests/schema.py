"""Schemathesis, configured so that this API's unusual answers are judged, not waved through.

The allowances below widen schemathesis's expected statuses per operation, never globally,
and each one is narrowed again by a check of our own that holds the answer to what the spec
says it must be (an answer's code to its task's state, a 404 to the one kind of id that gets
it, a 400 of the task log to the one filter combination that causes it). Three checks are
added to schemathesis's own:

- ``task_state_http_status``: status, state, done and cancel answer with the code of the
  task's state (``TaskState.x-http-status``);
- ``task_id_answers``: a 404 comes only for a dummy id (status, state, done), an unknown
  datacenter, or a task that is not running (details); a malformed id is 403;
- ``task_log_filter_errors``: a schema-valid task log request is refused only for an
  ``object_name`` without ``object_type`` (after a ``dc`` that does not exist, which real
  deployments check first).

Every answer also goes through the rules of every answer (:mod:`contract_tests.answers`): its
headers, its timing, whether it is well-formed. Requests that would run into a known defect
of a version (a ``dc`` that is not ASCII, a NUL, a body that is not an object) are not
generated: the named checks provoke each once, and the summary lists them apart.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
import schemathesis
from schemathesis.config import SchemathesisConfig

from contract_tests.client import Exchange, decode_body, header_problems
from contract_tests.deviations import Answer, excuses
from contract_tests.errors import BudgetExhausted, UnsafeRequest
from contract_tests.facts import SpecFacts
from contract_tests.pacing import ANONYMOUS, UNCOUNTED, Pacer
from esdc_api.deviations import Request

if TYPE_CHECKING:
    from schemathesis.schemas import BaseSchema

    from contract_tests.ledger import Ledger

#: The parts schemathesis runs in, in order of value; each is a test of its own per operation.
PHASES = ("examples", "coverage", "fuzzing")

STATE_OPERATIONS = ("taskStatus", "taskState", "taskDone", "taskCancel")
#: Operations that change a task: against a deployment they may only touch allowed tasks.
WRITE_OPERATIONS = ("taskCancel", "taskDelete")

# Expected statuses of schema-valid requests, for every operation:
# - 2xx: the answer;
# - 403: a well-formed task id of a task the caller may not see is "Permission denied";
# - 404: any string is a valid `dc`, but an unknown one is "Datacenter not found";
# - 429: the deployment throttled us even after the pacer waited and retried.
# Left out of schemathesis's defaults: 3xx (every spec path ends in a slash, so a redirect is a
# bug), 401 (the API never sends it), 409 (no operation conflicts), 5xx (never right).
POSITIVE = ["2xx", "403", "404", "429"]
# Expected statuses of schema-violating requests, for every operation: 400 (field errors),
# 403 (a malformed task id, the spec's x-invalid), 404 (no URL matches, or an invalid page),
# 405 and 406 (method and Accept probes), 429 (throttled). Each operation adds the statuses of
# its parameters' x-invalid answers (412 for order_by and last).
NEGATIVE = ["400", "403", "404", "405", "406", "429"]


def _statuses(base: list[str], *extra: int) -> list[str]:
    return [*base, *(str(code) for code in sorted(set(extra)) if str(code) not in base)]


def _invalid_statuses(facts: SpecFacts, operation_id: str) -> list[int]:
    params = facts.operation(operation_id).definition.get("parameters", [])
    return [p["x-invalid"]["status"] for p in params if "x-invalid" in p]


def operation_settings(facts: SpecFacts) -> list[dict[str, Any]]:
    """The per-operation part of the schemathesis config: every allowance, each explained."""
    state_codes = [int(code) for code in facts.state_http_status.values() if not 200 <= code < 300]

    def entry(operation_id: str, *positive: int) -> dict[str, Any]:
        return {
            "include-operation-id": operation_id,
            "checks": {
                "positive_data_acceptance": {"expected-statuses": _statuses(POSITIVE, *positive)},
                "negative_data_rejection": {
                    "expected-statuses": _statuses(
                        NEGATIVE, *_invalid_statuses(facts, operation_id)
                    )
                },
            },
        }

    return [
        # status, state and done answer with the code of the task's state: 400 is FAILURE and
        # 410 REVOKED, not a refused request. task_state_http_status holds each such answer to
        # a body in that very state.
        entry("taskStatus", *state_codes),
        entry("taskState", *state_codes),
        entry("taskDone", *state_codes),
        # cancel answers as status does once it revoked the task (or the task ended first), and
        # 406 "Task cannot be canceled" for a task that has ended, is unknown, belongs to
        # another datacenter or is a management task: a well-formed id says none of that.
        entry("taskCancel", *state_codes, 406),
        # delete without force is 406 "Safe task deletion is not implemented".
        entry("taskDelete", 406),
        # a schema-valid `last` can still reach before the year 1 (the spec: 412).
        entry("taskLogStats", 412),
        # object_name without object_type is a 400 the schema cannot express (x-requires);
        # task_log_filter_errors allows that 400 and no other.
        entry("taskLog", 400),
        # schemathesis cannot know a password: a failed login is 400 "Unable to log in".
        entry("login", 400),
        entry("logout"),
        entry("taskList"),
        entry("taskDetails"),
    ]


def build_config(
    facts: SpecFacts,
    *,
    base_url: str,
    api_key: str,
    seed: int,
    max_examples: int,
    stateful_steps: int,
    phase: str | None = None,
    fixed_task_id: str | None,
) -> SchemathesisConfig:
    """The whole schemathesis config, built here rather than found in a ``schemathesis.toml``
    that would change the suite depending on the directory it runs from.

    :param phase: the one phase to run (``examples``, ``coverage`` or ``fuzzing``); ``None``
        for the stateful runs, which need no phase of their own.
    :param fixed_task_id: the one task cancel and delete may name; ``None`` lets them generate.
    """
    operations = operation_settings(facts)
    if fixed_task_id is not None:
        for operation_id in WRITE_OPERATIONS:
            # Only the allowed task may be named, so a generated invalid task id would be
            # replaced by it and "accepted": generate valid requests only.
            operations.append(
                {
                    "include-operation-id": operation_id,
                    "parameters": {"path.task_id": fixed_task_id},
                    "generation": {"mode": "positive"},
                }
            )
    phases: dict[str, Any] = {name: {"enabled": name == phase} for name in PHASES}
    phases["stateful"] = {"max-steps": stateful_steps}
    return SchemathesisConfig.from_dict(
        {
            "seed": seed,
            "base-url": base_url,
            "auth": {"openapi": {"ApiKey": {"api_key": api_key}}},
            "generation": {
                # never replay failures of earlier runs from a database on disk
                "database": ":memory:",
                "max-examples": max_examples,
                # The spec offers an API key or a token; a generated Authorization header next
                # to a valid key is ignored by the deployment (the key wins), which is right.
                "with-security-parameters": False,
                # A NUL or a non-ASCII dc is a known 500 of Danube Cloud 4.6: the named checks
                # provoke it once, generated requests do not find it again and again.
                "allow-x00": False,
                "codec": "ascii",
            },
            "phases": phases,
            "warnings": {"fail-on": ["base_url_mismatch"]},
            "operations": operations,
        }
    )


_FACTS: dict[int, SpecFacts] = {}


def facts_of(case: schemathesis.Case[Any]) -> SpecFacts:
    """The facts of the spec a case was generated from (checks get no other way to them)."""
    raw = case.operation.schema.raw_schema
    if id(raw) not in _FACTS:
        _FACTS[id(raw)] = SpecFacts(raw)
    return _FACTS[id(raw)]


def operation_id(case: schemathesis.Case[Any]) -> str:
    return str(case.operation.definition.raw.get("operationId", ""))


def _json(response: schemathesis.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _detail(response: schemathesis.Response) -> Any:
    body = _json(response)
    return body.get("detail") if isinstance(body, dict) else None


def _is_positive(case: schemathesis.Case[Any]) -> bool:
    return case.meta is not None and case.meta.generation.mode.is_positive


def _query(response: schemathesis.Response) -> dict[str, str]:
    """The query as the deployment read it: from the URL really sent (generated values of odd
    types are serialized in odd ways), and of a repeated parameter the last value, as Django's
    QueryDict and Starlette (the reference server) take it."""
    return dict(parse_qsl(urlsplit(response.request.url or "").query, keep_blank_values=True))


def _dc_not_found(
    facts: SpecFacts, response: schemathesis.Response, case: schemathesis.Case[Any]
) -> bool:
    """A 404 for a ``dc`` the request named (in the query, or in the JSON body of a write):
    real deployments look the datacenter up first."""
    body = case.body if isinstance(case.body, dict) else {}
    named = _query(response).get("dc", "") != "" or body.get("dc") not in (None, "")
    return (
        response.status_code == 404
        and named
        and _detail(response) == facts.detail("taskList", 404, "dcNotFound")
    )


@schemathesis.check
def task_state_http_status(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case[Any]
) -> bool | None:
    """status, state, done and cancel answer with the code of the task's state."""
    op = operation_id(case)
    if op not in STATE_OPERATIONS:
        return None
    facts, code, body = facts_of(case), response.status_code, _json(response)
    table = facts.state_http_status
    state_codes = {int(c) for c in table.values()}
    # A SUCCESS whose result asks for another 2xx (result.meta.status, 205) answers with it.
    success_codes = {c for c in range(200, 300) if c != int(table["PENDING"])}
    if op == "taskDone":
        if isinstance(body, dict) and isinstance(body.get("done"), bool):
            states = facts.states_with_status(code) or (
                frozenset({"SUCCESS"}) if code in success_codes else frozenset()
            )
            if not states:
                raise AssertionError(
                    f"[task-state-code] /done/ answered {code}, which is the code of no task state"
                )
            if body["done"] != (states == {"SUCCESS"}):
                raise AssertionError(
                    f"[task-state-code] /done/ answered {code} ({'/'.join(sorted(states))}) "
                    f"with done={str(body['done']).lower()}; done is true exactly for SUCCESS"
                )
        elif code in state_codes and not 200 <= code < 300:
            raise AssertionError(
                f"[task-state-code] /done/ answered {code} without a done body: "
                f"{response.text[:200]}"
            )
        return None
    if isinstance(body, dict) and body.get("status") in table:
        state = body["status"]
        expected = int(table[state])
        if code != expected and not (state == "SUCCESS" and code in success_codes):
            raise AssertionError(
                f"[task-state-code] answered {code} for a task in state {state}; the state's "
                f"code (TaskState.x-http-status) is {expected}"
            )
    elif code == 410 or (code == 400 and (op != "taskCancel" or _is_positive(case))):
        raise AssertionError(
            f"[task-state-code] answered {code}, a task state's code, without a task in that "
            f"state: {response.text[:200]}"
        )
    return None


@schemathesis.check
def task_id_answers(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case[Any]
) -> bool | None:
    """One answer per kind of task id: 404 only for a dummy id (status, state, done), an
    unknown datacenter, or a task that is not running (details, delete); 403 for a malformed
    id."""
    op = operation_id(case)
    task_id = (case.path_parameters or {}).get("task_id")
    if not isinstance(task_id, str) or op not in (*STATE_OPERATIONS, "taskDetails"):
        return None
    facts, code = facts_of(case), response.status_code
    if (
        not facts.task_id_url_pattern.match(task_id)
        or code == 429
        or _dc_not_found(facts, response, case)
    ):
        return None  # no URL matches (the not-routed check's), throttled, or the dc first
    detail = _detail(response)
    if not facts.task_id_pattern.match(task_id):
        if code not in (403, 405, 406):
            raise AssertionError(
                f"[malformed-task-id] {task_id!r} is not a task id: the answer is 403 "
                f"Permission denied, not {code} {response.text[:120]}"
            )
        return None
    dummy = facts.is_dummy(task_id)
    if op in ("taskStatus", "taskState", "taskDone"):
        wanted = facts.detail("taskStatus", 404, "dummyTask")
        if code == 404 and not (dummy and detail == wanted):
            kind = "a dummy id" if dummy else f"{task_id!r}, which is no dummy id,"
            raise AssertionError(
                f"[task-id-answers] {kind} was answered 404 {response.text[:120]}; only a "
                f'dummy id gets 404 {{"detail": "{wanted}"}}; any other well-formed id reads a '
                "state (PENDING if the deployment never saw it) or is 403"
            )
        if dummy and code not in (403, 404, 405, 406):
            raise AssertionError(
                f"[task-id-answers] {task_id!r} is a dummy id (the md5 of its creator), so it "
                f'must be 404 {{"detail": "{wanted}"}}, not {code} {response.text[:120]}'
            )
    elif op == "taskCancel" and code == 404:
        raise AssertionError(
            f"[task-id-answers] cancel answered 404 {response.text[:120]} for {task_id!r}; a task "
            "that cannot be cancelled is 406 Task cannot be canceled"
        )
    elif op == "taskDetails" and code == 404:
        wanted = facts.detail("taskDetails", 404, "taskNotFound")
        if detail != wanted:
            raise AssertionError(
                f"[task-id-answers] details answered 404 {response.text[:120]}; a task that is "
                f'not running is 404 {{"detail": "{wanted}"}}'
            )
    return None


@schemathesis.check
def task_log_filter_errors(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case[Any]
) -> bool | None:
    """The task log refuses schema-valid filters only for object_name without object_type."""
    if operation_id(case) != "taskLog" or not _is_positive(case):
        return None
    facts = facts_of(case)
    if response.status_code == 429 or _dc_not_found(facts, response, case):
        return None  # the dc is looked up before any filter is read
    query = _query(response)
    paged = query.get("page", "") != ""
    needs_type = paged and query.get("object_name", "") != "" and query.get("object_type", "") == ""
    body = _json(response)
    if needs_type:
        if response.status_code != 400 or not isinstance(body, dict) or "object_type" not in body:
            raise AssertionError(
                "[task-log-filter-errors] a paged task log filtered by object_name without "
                f'object_type must be 400 {{"object_type": [...]}}; it answered '
                f"{response.status_code} {response.text[:200]}"
            )
    elif response.status_code == 400:
        raise AssertionError(
            "[task-log-filter-errors] schema-valid task log filters were refused: "
            f"{response.text[:300]}"
        )
    return None


CUSTOM_CHECKS = (task_state_http_status, task_id_answers, task_log_filter_errors)


def answer_of(case: schemathesis.Case[Any], response: schemathesis.Response) -> Answer:
    negative: set[str] = set()
    if case.meta is not None and case.meta.generation.mode.is_negative:
        from schemathesis.core.parameters import ParameterLocation

        for location, name in (
            (ParameterLocation.PATH, "path"),
            (ParameterLocation.QUERY, "query"),
            (ParameterLocation.BODY, "body"),
            (ParameterLocation.HEADER, "header"),
        ):
            if case.meta.is_negative_at(location):
                negative.add(name)
    return Answer(
        operation_id=operation_id(case),
        path_params={k: str(v) for k, v in (case.path_parameters or {}).items()},
        query=_query(response),
        negative_in=frozenset(negative),
        status=response.status_code,
        content_type=response.headers.get("content-type", [""])[0],
        text=response.text,
    )


def _headers(response: schemathesis.Response) -> dict[str, str]:
    return {str(k): str(v) for k, v in response.request.headers.items()}


def identity_of(headers: Mapping[str, str], keys: Mapping[str, str | None]) -> str:
    """Which of our identities a request was sent as (an unknown key counts as anonymous)."""
    key = headers.get("ES-API-KEY")
    for identity, value in keys.items():
        if value is not None and key == value:
            return identity
    return ANONYMOUS


class InspectingSend:
    """``send`` of a requests session that paces, reads the body as it came and decodes it
    itself: an answer whose body is not what its headers say reaches the checks as it came,
    with what is wrong noted for the ``well-formed-answers`` rule."""

    pacer: Pacer
    keys: Mapping[str, str | None]
    #: the problems and headers of each answer, by its request, until the hook takes them
    seen: dict[int, tuple[tuple[str, ...], tuple[tuple[str, str], ...]]]

    def _inspect(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        key = request.headers.get("ES-API-KEY")
        identity = identity_of({"ES-API-KEY": str(key)} if key else {}, self.keys)
        if identity == ANONYMOUS and not str(request.path_url).split("?")[0].endswith(
            "/accounts/login/"
        ):
            identity = UNCOUNTED  # refused before the throttle counts it
        send = super().send  # type: ignore[misc]

        def once() -> requests.Response:
            response: requests.Response = send(request, **{**kwargs, "stream": True})
            raw = response.raw.read(decode_content=False)
            headers = tuple((k.lower(), v) for k, v in response.raw.headers.items())
            body, problem = decode_body(raw, response.headers.get("content-encoding"))
            if problem is not None:
                del response.headers["content-encoding"]
            response._content = body
            response._content_consumed = True
            problems = (*header_problems(headers), *([problem] if problem else []))
            self.seen[id(request)] = (problems, headers)
            if len(self.seen) > 64:
                self.seen.pop(next(iter(self.seen)))
            return response

        try:
            return self.pacer.send(
                identity,
                once,
                status=lambda r: r.status_code,
                retry_after=lambda r: r.headers.get("Retry-After"),
                text=lambda r: r.content.decode("utf-8", "replace"),
                what=f"{request.method} {request.path_url}",
            )
        except BudgetExhausted as exc:
            # a skip, not an error: Hypothesis would take an error for a failure and replay
            # the case to shrink it, sending more requests the budget has no room for
            pytest.skip(str(exc))


class PacedSession(InspectingSend, requests.Session):
    """A requests session for schemathesis over the network."""

    def __init__(self, pacer: Pacer, keys: Mapping[str, str | None]) -> None:
        super().__init__()
        self.pacer, self.keys, self.seen = pacer, keys, {}

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        return self._inspect(request, **kwargs)


def in_process_session(app: Any, pacer: Pacer, keys: Mapping[str, str | None]) -> requests.Session:
    """A session for schemathesis in-process: its ASGI client, inspecting like the above."""
    from schemathesis.python.asgi import ASGIClient

    class PacedASGISession(InspectingSend, ASGIClient):
        def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
            return self._inspect(request, **kwargs)

    session = PacedASGISession(app)
    session.pacer, session.keys, session.seen = pacer, keys, {}
    return session


def guard(case: schemathesis.Case[Any], allowed_task_ids: tuple[str, ...] | None) -> None:
    """Refuse to send a cancel or delete for a task nobody allowed.

    The config already fixes their task id; this catches a case that got around it.

    :param allowed_task_ids: the tasks cancel and delete may name, or ``None`` for any.
    """
    if allowed_task_ids is not None and operation_id(case) in WRITE_OPERATIONS:
        task_id = str((case.path_parameters or {}).get("task_id"))
        if task_id not in allowed_task_ids:
            raise UnsafeRequest(f"refused to send {case.operation.label} for task {task_id!r}")


#: What a generated login's password is replaced with against a deployment.
NOT_A_PASSWORD = "esdc-contract-not-a-password"


def disarm(case: schemathesis.Case[Any]) -> None:
    """Make a generated login unable to succeed: against a deployment a login replaces the
    user's token, ending the user's sessions, and the spec's own example could be a real
    account's name and password. A password that is a string is replaced; others are refused
    anyway."""
    body = case.body
    if operation_id(case) == "login" and isinstance(body, dict):
        if isinstance(body.get("password"), str):
            case.body = {**body, "password": NOT_A_PASSWORD}


def request_of(case: schemathesis.Case[Any], base_path: str) -> Request:
    """A generated case as the spec's ``x-known-defects`` conditions read a request."""
    from schemathesis.core import NotSet

    query: list[tuple[str, str]] = []
    for name, value in (case.query or {}).items():
        for item in value if isinstance(value, list) else [value]:
            query.append((str(name), item if isinstance(item, str) else json.dumps(item)))
    body = None if isinstance(case.body, NotSet) else case.body
    if body is not None and not isinstance(body, str | bytes):
        body = json.dumps(body)
    elif isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    path_params = {str(k): str(v) for k, v in (case.path_parameters or {}).items()}
    for name, value in path_params.items():
        query.append((name, value))
    return Request(
        method=case.method.upper(),
        path="/api" + case.path,
        operation_id=operation_id(case),
        query=tuple(query),
        headers={str(k).lower(): str(v) for k, v in (case.headers or {}).items()},
        body=body,
        credentials="valid",
    )


def exchange_of(
    response: schemathesis.Response,
    identity: str,
    keys: Mapping[str, str | None],
    seen: Mapping[int, tuple[tuple[str, ...], tuple[tuple[str, str], ...]]],
) -> Exchange:
    """A schemathesis answer as the named checks see theirs, to judge it by the same rules."""
    request = response.request
    problems, header_list = seen.get(id(request), ((), ()))
    if not header_list:
        header_list = tuple(
            (name.lower(), value) for name, values in response.headers.items() for value in values
        )
    body = request.body
    if isinstance(body, str):
        body = body.encode()
    return Exchange(
        identity=identity,
        method=str(request.method),
        url=str(request.url),
        request_headers={str(k): str(v) for k, v in request.headers.items()},
        body=body if isinstance(body, bytes) else None,
        status=response.status_code,
        header_list=header_list,
        text=response.content.decode("utf-8", "replace"),
        secret=keys.get(identity),
        problems=problems,
        elapsed=float(response.elapsed),
    )


def install_hooks(
    schema: BaseSchema,
    *,
    ledger: Ledger,
    identity: str,
    keys: Mapping[str, str | None],
    session: Any = None,
) -> None:
    """Record every answer in the ledger, judge it by the rules of every answer, keep
    generated requests away from known defects, and excuse what the deviations excuse."""
    facts = ledger.facts
    judge = ledger.judge
    assert judge is not None

    @schema.hook
    def filter_case(ctx: schemathesis.HookContext, case: schemathesis.Case[Any]) -> bool:
        return not judge.avoids(request_of(case, facts.base_path))

    @schema.hook
    def after_call(
        ctx: schemathesis.HookContext, case: schemathesis.Case[Any], response: schemathesis.Response
    ) -> None:
        ledger.record_answer(case.operation.label, response.status_code)
        seen = session.seen if session is not None else {}
        sent_as = identity_of(_headers(response), keys)
        ledger.record_exchange(exchange_of(response, sent_as, keys, seen), documented=False)

    @schema.hook
    def filter_failure(
        ctx: schemathesis.HookContext,
        failure: Any,
        case: schemathesis.Case[Any],
        response: schemathesis.Response,
    ) -> bool:
        if response.status_code >= 500:
            seen = session.seen if session is not None else {}
            sent_as = identity_of(_headers(response), keys)
            exchange = exchange_of(response, sent_as, keys, seen)
            if judge.known_defect(exchange, ledger.version) is not None:
                return False  # recorded by after_call, reported apart
        rule = excuses(type(failure).__name__, answer_of(case, response), facts)
        if rule is None:
            return True
        ledger.excuse(
            rule,
            f"{case.operation.label} as {identity} → {response.status_code}: "
            f"{case.as_curl_command()}",
        )
        return False

    @schema.hook
    def after_validate(
        ctx: schemathesis.HookContext,
        case: schemathesis.Case[Any],
        response: schemathesis.Response,
        results: list[Any],
    ) -> None:
        for result in results:
            ledger.count(result.name)
            if result.failure is not None:
                ledger.failed_checks[ledger.current_test or case.operation.label].add(result.name)
