"""The rules the suite holds a deployment to, by name, each with what the spec says.

A failure names the rule it broke; the summary of a run lists how many answers each rule
judged, so that a rule that judged nothing is visible as such. A named check declares its rule
with ``@pytest.mark.esdc_check("rule-name", user=..., ...)`` (the counts are the requests it
sends as each identity, which the plan adds up); schemathesis's checks are rules under their
own names.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    """One rule: its name and what the spec says, with where it says it."""

    name: str
    says: str


def _rules(*rules: Rule) -> dict[str, Rule]:
    return {rule.name: rule for rule in rules}


RULES = _rules(
    # -- every answer -------------------------------------------------------------------------
    Rule(
        "documented-answers",
        "every answer has a status the operation documents and a JSON body its schema accepts",
    ),
    Rule(
        "well-formed-answers",
        "an answer is well-formed HTTP: one Date, one Content-Type, a body that decodes as its "
        "Content-Encoding says, JSON where it is labelled JSON",
    ),
    Rule(
        "answer-time",
        "every answer comes within a few seconds (cancel waits about one second on real "
        "deployments; nothing else waits)",
    ),
    Rule(
        "es-headers",
        "an answer carries the es_* headers its documented response lists; es_dc only when "
        "the caller authenticated (info: Response headers)",
    ),
    Rule(
        "es-username",
        "es_username names the caller: the same name on every answer to one user, a "
        "different one for another user, empty without credentials (EsUsername header)",
    ),
    Rule(
        "throttle-answer",
        "a throttled request is answered 429 with an integer Retry-After and "
        '{"detail": "Request was throttled. Expected available in N seconds."} '
        "(info: Throttling; Throttled response)",
    ),
    Rule(
        "throttle-present",
        "deployments throttle: 30 requests a minute per anonymous client, 45 per user, then 429 "
        "(info: Throttling)",
    ),
    Rule(
        "auth-before-throttle",
        "credentials are checked before the throttle: a request without valid credentials to an "
        "endpoint that needs them is 403, never 429",
    ),
    # -- credentials and ids --------------------------------------------------------------------
    Rule(
        "credentials-403",
        "missing or bad credentials are answered 403 with the real detail, never 401 "
        "(info: Authentication)",
    ),
    Rule("login-failed-400", "a failed login is 400 Unable to log in (login 400 loginFailed)"),
    Rule(
        "login-token",
        "a login answers a token that works, names the user in es_username and expires 3600 s "
        "after the login; logout with the token ends it, logout with an API key does not "
        "(login, logout; info: Authentication)",
    ),
    Rule(
        "malformed-task-id",
        "a task id that is not one is 403 Permission denied (TaskId x-invalid)",
    ),
    Rule(
        "task-id-not-routed",
        "a task id with characters outside A-Z a-z 0-9 - matches no URL: the plain 404 "
        "'Resource not found' (TaskId x-url-pattern)",
    ),
    Rule(
        "task-id-answers",
        "each kind of task id has one answer per operation: an unknown id of the caller's reads "
        "PENDING (201) and cannot be cancelled (406), a dummy id is 404 'Task does not exist "
        "(anymore)' on status and done, neither is a running task (details 404)",
    ),
    # -- who may see what ------------------------------------------------------------------------
    Rule(
        "peer-isolation",
        "another plain user sees, lists and cancels none of a user's tasks: 403 Permission "
        "denied (x-permission UserTask, TaskCreator)",
    ),
    Rule("admin-sees-all", "an admin of the datacenter lists and reads every user's tasks"),
    Rule("listed-tasks-readable", "every task in a user's list is readable by that user"),
    Rule("stats-admin-only", "the task log statistics are for admins only (x-permission Admin)"),
    Rule(
        "write-authorization",
        "only a task's creator and admins may cancel it (x-permission TaskCreator)",
    ),
    # -- task states --------------------------------------------------------------------------
    Rule(
        "state-agreement",
        "status, its /state/ alias and done tell the same state, each with the state's code "
        "(TaskState.x-http-status)",
    ),
    Rule(
        "task-state-code",
        "status, state, done and cancel answer with the code of the task's state; a SUCCESS "
        "may carry another 2xx its result asks for (TaskState.x-http-status)",
    ),
    Rule(
        "cancel-answers",
        "cancel answers with the task's state as status does (201 while it is still queued or "
        "running), and 406 Task cannot be canceled once it has ended",
    ),
    Rule(
        "states-forward",
        "a task that ended stays in its end state until its result expires; before it ends it "
        "may step between PENDING and STARTED (retries, the callback phase)",
    ),
    Rule(
        "result-expiry",
        "a result is kept 3600 s after the task ended, then the task reads PENDING "
        "(info: Synchronous and asynchronous calls)",
    ),
    # -- the task log -------------------------------------------------------------------------
    Rule(
        "log-paging",
        "the paged log holds 100 entries a page, counts them all, links next and previous "
        "(previous is null on page 2), and a page beyond the end is 404 Invalid page. "
        "(TaskLogPage)",
    ),
    Rule(
        "log-links",
        "next and previous are absolute URLs on the host and scheme the request used, carrying "
        "every other parameter as real deployments do: blank ones dropped, repeated ones kept, "
        "sorted by name (TaskLogPage)",
    ),
    Rule("log-filters", "each filter of the paged log keeps only the entries it names"),
    Rule(
        "log-filter-recall",
        "each filter keeps every entry it names: the newest matching entries of the unfiltered "
        "log open the filtered one, and the counts by status add up to the whole",
    ),
    Rule("log-order", "order_by=time lists the oldest entries first, -time the newest"),
    Rule(
        "log-last",
        "without page the log answers its last 10 entries as {results}, and ignores every filter",
    ),
    Rule(
        "plain-user-log-pages",
        "a plain user's log pages past the first like anyone's: 100 entries a page, only "
        "entries the user may see",
    ),
    Rule("log-times", "an entry's time is when it was written, in UTC (LogEntry.time)"),
    Rule(
        "stats-equal-log",
        "the statistics count the same entries the paged log shows, for the same window",
    ),
    Rule(
        "invalid-parameters",
        "an invalid page is 404, an invalid order_by or last 412, with the x-invalid detail",
    ),
    # -- HTTP conventions ------------------------------------------------------------------------
    Rule("trailing-slash-301", "a URL without its trailing slash is 301 to the slashed URL"),
    Rule(
        "dc-prefix",
        "/api/dc/{dc}/... answers as the same request with the dc parameter (info: Base URL)",
    ),
    Rule("dc-unknown", "an unknown dc is 404 Datacenter not found (Dc parameter)"),
    Rule(
        "not-acceptable-406",
        "an Accept header that excludes JSON is 406 'Could not satisfy the request Accept "
        "header.' (NotAcceptable)",
    ),
    Rule(
        "options",
        "OPTIONS answers with the endpoint's name and description and an Allow header of its "
        "methods; without credentials it is 403 like any other method (login excepted)",
    ),
    # -- checks of schemathesis's and ours that run on its answers -------------------------------
    Rule(
        "task-log-filter-errors",
        "a schema-valid task log request is refused only for object_name without object_type",
    ),
    Rule(
        "known-defects",
        "an answer that a known defect of the deployment's version explains is that defect "
        "(the spec's x-known-defects), reported apart; any other answer is the spec's",
    ),
    Rule("not_a_server_error", "no answer is a 5xx (schemathesis)"),
)


def rule(name: str) -> Rule:
    """The rule named ``name``; schemathesis's checks are rules under their own names."""
    return RULES.get(name) or Rule(name, "schemathesis's check of that name")
