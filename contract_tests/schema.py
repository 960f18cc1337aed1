"""Schemathesis, configured so that this API's unusual answers are judged, not waved through.

The allowances below widen schemathesis's expected statuses per operation, never globally,
and each one is narrowed again by a check of our own that holds the answer to what the spec
says it must be (an answer's code to its task's state, a 400 of the task log to the one filter
combination that causes it). Three checks are added to schemathesis's own:

- ``task_state_http_status``: status, state, done and cancel answer with the code of the
  task's state (``TaskState.x-http-status``);
- ``es_headers_present``: every JSON answer carries ``es_version``, ``es_username``, ``es_dc``;
- ``task_log_filter_errors``: a schema-valid task log request is refused only for an
  ``object_name`` without ``object_type``, and then always.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

import requests
import schemathesis
from schemathesis.config import SchemathesisConfig

from contract_tests.deviations import Answer, excuses
from contract_tests.errors import UnsafeRequest
from contract_tests.facts import SpecFacts
from contract_tests.pacing import ANONYMOUS, Pacer

if TYPE_CHECKING:
    from schemathesis.schemas import BaseSchema

    from contract_tests.ledger import Ledger

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
    coverage: bool = True,
    fixed_task_id: str | None,
) -> SchemathesisConfig:
    """The whole schemathesis config, built here rather than found in a ``schemathesis.toml``
    that would change the suite depending on the directory it runs from.

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
            },
            "phases": {
                "coverage": {"enabled": coverage},
                "stateful": {"max-steps": stateful_steps},
            },
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


def _is_positive(case: schemathesis.Case[Any]) -> bool:
    return case.meta is not None and case.meta.generation.mode.is_positive


def _query(response: schemathesis.Response) -> dict[str, str]:
    """The query as the deployment read it: from the URL really sent (generated values of odd
    types are serialized in odd ways), and of a repeated parameter the last value, as Django's
    QueryDict and Starlette (the reference server) take it."""
    return dict(parse_qsl(urlsplit(response.request.url or "").query, keep_blank_values=True))


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
    if op == "taskDone":
        if isinstance(body, dict) and isinstance(body.get("done"), bool):
            states = facts.states_with_status(code)
            if not states:
                raise AssertionError(f"/done/ answered {code}, which is the code of no task state")
            if body["done"] != (states == {"SUCCESS"}):
                raise AssertionError(
                    f"/done/ answered {code} ({'/'.join(sorted(states))}) with done="
                    f"{str(body['done']).lower()}; done is true exactly for SUCCESS"
                )
        elif code in state_codes and not 200 <= code < 300:
            raise AssertionError(
                f"/done/ answered {code} without a done body: {response.text[:200]}"
            )
        return None
    if isinstance(body, dict) and body.get("status") in table:
        expected = int(table[body["status"]])
        if code != expected:
            raise AssertionError(
                f"answered {code} for a task in state {body['status']}; the state's code "
                f"(TaskState.x-http-status) is {expected}"
            )
    elif code == 410 or (code == 400 and (op != "taskCancel" or _is_positive(case))):
        raise AssertionError(
            f"answered {code}, a task state's code, without a task in that state: "
            f"{response.text[:200]}"
        )
    return None


@schemathesis.check
def es_headers_present(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case[Any]
) -> bool | None:
    """Every JSON answer of the API carries the es_* headers."""
    if not response.headers.get("content-type", [""])[0].startswith("application/json"):
        return None
    if _json(response) is None and response.text.strip() != "null":
        return None
    missing = [name for name in facts_of(case).es_headers if name not in response.headers]
    if missing:
        raise AssertionError(
            f"the answer ({response.status_code}) lacks the {', '.join(missing)} header(s)"
        )
    return None


@schemathesis.check
def task_log_filter_errors(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case[Any]
) -> bool | None:
    """The task log refuses schema-valid filters only for object_name without object_type."""
    if operation_id(case) != "taskLog" or not _is_positive(case):
        return None
    query = _query(response)
    paged = query.get("page", "") != ""
    needs_type = paged and query.get("object_name", "") != "" and query.get("object_type", "") == ""
    body = _json(response)
    if needs_type:
        if response.status_code != 400 or not isinstance(body, dict) or "object_type" not in body:
            raise AssertionError(
                "a paged task log filtered by object_name without object_type must be 400 "
                f'{{"object_type": [...]}}; it answered {response.status_code} '
                f"{response.text[:200]}"
            )
    elif response.status_code == 400:
        raise AssertionError(f"schema-valid task log filters were refused: {response.text[:300]}")
    return None


CUSTOM_CHECKS = (task_state_http_status, es_headers_present, task_log_filter_errors)


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


def identity_of(headers: Mapping[str, str], keys: Mapping[str, str | None]) -> str:
    """Which of our identities a request was sent as (an unknown key counts as anonymous)."""
    key = headers.get("ES-API-KEY")
    for identity, value in keys.items():
        if value is not None and key == value:
            return identity
    return ANONYMOUS


class PacedSession(requests.Session):
    """A requests session that sends through the pacer, for schemathesis over the network."""

    def __init__(self, pacer: Pacer, keys: Mapping[str, str | None]) -> None:
        super().__init__()
        self.pacer = pacer
        self.keys = keys

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        key = request.headers.get("ES-API-KEY")
        identity = identity_of({"ES-API-KEY": str(key)} if key else {}, self.keys)

        def send() -> requests.Response:
            return requests.Session.send(self, request, **kwargs)

        return self.pacer.send(
            identity,
            send,
            status=lambda r: r.status_code,
            retry_after=lambda r: r.headers.get("Retry-After"),
            what=f"{request.method} {request.path_url}",
        )


def guard(case: schemathesis.Case[Any], allowed_task_ids: tuple[str, ...] | None) -> None:
    """Refuse to send a cancel or delete for a task nobody allowed.

    The config already fixes their task id; this catches a case that got around it.

    :param allowed_task_ids: the tasks cancel and delete may name, or ``None`` for any.
    """
    if allowed_task_ids is not None and operation_id(case) in WRITE_OPERATIONS:
        task_id = str((case.path_parameters or {}).get("task_id"))
        if task_id not in allowed_task_ids:
            raise UnsafeRequest(f"refused to send {case.operation.label} for task {task_id!r}")


def install_hooks(schema: BaseSchema, *, ledger: Ledger, identity: str) -> None:
    """Record every answer in the ledger and excuse what the deviations excuse."""
    facts = ledger.facts

    @schema.hook
    def after_call(
        ctx: schemathesis.HookContext, case: schemathesis.Case[Any], response: schemathesis.Response
    ) -> None:
        ledger.record_answer(case.operation.label, identity, response.status_code)
        op = operation_id(case)
        task_id = (case.path_parameters or {}).get("task_id")
        if op in STATE_OPERATIONS and isinstance(task_id, str):
            ledger.observe(
                op,
                task_id,
                response.status_code,
                _json(response),
                evidence=f"{case.operation.label} "
                f"({task_id}) as {identity} → {response.status_code} {response.text[:150]}",
            )

    @schema.hook
    def filter_failure(
        ctx: schemathesis.HookContext,
        failure: Any,
        case: schemathesis.Case[Any],
        response: schemathesis.Response,
    ) -> bool:
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
            if result.failure is not None:
                ledger.failed_checks[ledger.current_test or case.operation.label].add(result.name)
