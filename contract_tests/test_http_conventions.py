"""What every endpoint has in common: URLs end in a slash (a missing one is redirected with
301); the es_* headers where real deployments send them, es_username naming the caller; the
``/api/dc/{dc}/`` prefix working as the ``dc`` parameter, an unknown ``dc`` being 404; 406 for
an ``Accept`` that excludes JSON; and OPTIONS describing each endpoint."""

from __future__ import annotations

from urllib.parse import urljoin

import pytest

from contract_tests.client import Client, Exchange
from contract_tests.errors import ContractViolation
from contract_tests.facts import Operation
from contract_tests.run import Run
from esdc_api.deviations import Request, deviations

#: A well-formed id: the redirect is decided by the URL before the task is looked at.
SOME_TASK = "0e0d0-00000000-0000-0000-0000"
#: A datacenter no deployment has.
NO_SUCH_DC = "esdc-check-no-such-dc"


#: GET operations that change something: a logout deletes the user's token. Never sent with
#: valid credentials, not even to see its headers or its redirect.
CHANGES = frozenset({"logout"})


def _gets(run: Run) -> list[Operation]:
    return [
        op
        for op in run.facts.operations.values()
        if op.method == "GET" and not op.is_public and op.operation_id not in CHANGES
    ]


def _path(op: Operation) -> str:
    return op.path.replace("{task_id}", SOME_TASK)


@pytest.mark.esdc_check("trailing-slash-301", plain=8)
def test_missing_trailing_slash_redirects_permanently(esdc_run: Run, plain: Client) -> None:
    for op in _gets(esdc_run):
        path = _path(op).rstrip("/")
        exchange = plain.request("GET", path + "?page=1")
        location = exchange.header("location") or ""
        wanted = plain.url(path + "/") + "?page=1"
        if exchange.status != 301 or urljoin(exchange.url, location) != wanted:
            raise ContractViolation(
                f"{path} lacks its trailing slash: the answer must be 301 to {wanted} (Django's "
                f"APPEND_SLASH), not {exchange.status} to {location or 'nowhere'}",
                exchange,
            )


def _raise_header_findings(esdc_run: Run, exchanges: list[Exchange]) -> None:
    judge = esdc_run.ledger.judge
    assert judge is not None
    for exchange in exchanges:
        for finding in judge.judge(exchange, version=esdc_run.ledger.version):
            if finding.rule in ("es-headers", "es-username"):
                raise ContractViolation(finding.problem, exchange, rule=finding.rule)


@pytest.mark.esdc_check("es-headers", user=10, anonymous=2)
def test_answers_carry_the_es_headers(esdc_run: Run, user: Client, anonymous: Client) -> None:
    """Where real deployments send them: every answer to a caller with credentials, es_dc
    only when they were valid; none on OPTIONS nor on a failed login (their responses list
    none)."""
    exchanges = [user.get(_path(op)) for op in _gets(esdc_run)]
    exchanges += [anonymous.get("/task/"), user.get("/task/log/", page=0)]
    exchanges.append(
        anonymous.post(
            "/accounts/login/", json={"username": "esdc-contract-nobody", "password": "x"}
        )
    )
    _raise_header_findings(esdc_run, exchanges)
    answered = exchanges[0]
    if answered.status == 200 and answered.header("es_dc"):
        dc = answered.header("es_dc") or ""
        chosen = user.get("/task/", dc=dc)
        if chosen.status == 200 and chosen.header("es_dc") != dc:
            raise ContractViolation(
                f"es_dc must name the datacenter the request ran in (dc={dc})", chosen
            )


@pytest.fixture(scope="module")
def current_dc(user: Client) -> str:
    """The user's current datacenter, as es_dc names it."""
    exchange = user.get("/task/")
    dc = exchange.header("es_dc")
    if exchange.status != 200 or not dc:
        pytest.skip("the task list's answer names no datacenter (es_dc)")
    return dc


def _unlinked(body: object) -> object:
    """A body without the page links, which name the URL asked (and so differ)."""
    if isinstance(body, dict):
        return {k: v for k, v in body.items() if k not in ("next", "previous")}
    return body


@pytest.mark.esdc_check("dc-prefix", user=6)
def test_dc_prefix_works_like_the_dc_parameter(
    esdc_run: Run, user: Client, current_dc: str
) -> None:
    for path, params in (("/task/", {}), ("/task/log/", {"page": 1}), ("/task/log/", {})):
        by_parameter = user.get(path, **params, dc=current_dc)
        by_prefix = user.get(f"/dc/{current_dc}{path}", **params)
        same = (
            by_prefix.status == by_parameter.status
            and _unlinked(by_prefix.json()) == _unlinked(by_parameter.json())
            and by_prefix.header("es_dc") == by_parameter.header("es_dc")
        )
        again = user.get(path, **params, dc=current_dc) if not same else by_parameter
        if not same and _unlinked(again.json()) == _unlinked(by_parameter.json()):
            raise ContractViolation(
                f"/api/dc/{current_dc}{path} and {path}?dc={current_dc} answered differently "
                f"({by_prefix.status} and {by_parameter.status}); the prefix works like the "
                "dc parameter (info: Base URL)",
                by_prefix,
                by_parameter,
            )


@pytest.mark.esdc_check("dc-unknown", user=2)
def test_an_unknown_dc_is_404(esdc_run: Run, user: Client) -> None:
    wanted = {"detail": esdc_run.facts.detail("taskList", 404, "dcNotFound")}
    for exchange in (user.get("/task/", dc=NO_SUCH_DC), user.get(f"/dc/{NO_SUCH_DC}/task/")):
        if exchange.status != 404 or exchange.json() != wanted:
            raise ContractViolation(
                f"the datacenter {NO_SUCH_DC!r} does not exist, so the answer is 404 {wanted}; "
                + ("the dc was ignored" if exchange.status == 200 else f"it was {exchange.status}"),
                exchange,
            )


@pytest.mark.esdc_check("not-acceptable-406", user=2)
def test_an_accept_without_json_is_406(esdc_run: Run, user: Client) -> None:
    wanted = {"detail": esdc_run.facts.detail("taskList", 406, "notAcceptable")}
    for accept in ("text/html", "application/xml"):
        exchange = user.request("GET", "/task/", headers={"Accept": accept})
        if exchange.status != 406 or exchange.json() != wanted:
            raise ContractViolation(
                f"Accept: {accept} excludes JSON, so the answer is 406 {wanted}, not "
                f"{exchange.status}",
                exchange,
            )
    _raise_header_findings(esdc_run, [exchange])  # es_username names the caller on a 406 too


def _paths(run: Run) -> dict[str, list[Operation]]:
    found: dict[str, list[Operation]] = {}
    for op in run.facts.operations.values():
        found.setdefault(op.path, []).append(op)
    return found


@pytest.mark.esdc_check("options", user=9, anonymous=2)
def test_options_describe_each_endpoint(esdc_run: Run, user: Client, anonymous: Client) -> None:
    """OPTIONS answers 200 with the endpoint's name and description and an Allow header of
    its methods. (Its description is the deployment's own prose: the spec's x-deviations say
    the reference server writes its own.)"""
    declared = deviations(esdc_run.facts.spec)
    for path, ops in _paths(esdc_run).items():
        exchange = user.request("OPTIONS", path.replace("{task_id}", SOME_TASK))
        body = exchange.json()
        allowed = {
            m.strip().upper() for m in (exchange.header("allow") or "").split(",") if m.strip()
        }
        wanted = {op.method for op in ops} | {"OPTIONS"}
        problem = None
        if exchange.status != 200 or not isinstance(body, dict):
            problem = f"answered {exchange.status} {exchange.text[:80]}, not 200 with a JSON object"
        elif not isinstance(body.get("name"), str) or not body["name"]:
            problem = "has no name"
        elif not isinstance(body.get("description"), str):
            request = Request("OPTIONS", "/api" + path)
            if not any("/description" in d.differs and d.when.holds(request) for d in declared):
                problem = "has no description"
        elif allowed != wanted:
            problem = (
                f"says Allow: {exchange.header('allow')!r}; the endpoint's methods are "
                f"{', '.join(sorted(wanted))}"
            )
        if problem is not None:
            raise ContractViolation(f"OPTIONS {path} {problem}", exchange)
    refused = anonymous.request("OPTIONS", "/task/")
    wanted_detail = {"detail": esdc_run.facts.detail("taskList", 403, "noCredentials")}
    if refused.status != 403 or refused.json() != wanted_detail:
        raise ContractViolation(
            f"OPTIONS without credentials must be 403 {wanted_detail} like any other method "
            f"(real deployments authenticate it), not {refused.status}",
            refused,
        )
    login = anonymous.request("OPTIONS", "/accounts/login/")
    if login.status != 200:
        raise ContractViolation(
            "OPTIONS /accounts/login/ needs no credentials (the login is public): 200", login
        )
