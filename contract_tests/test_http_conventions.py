"""What every answer has in common: URLs end in a slash (a missing one is redirected with 301),
and answers carry the es_version, es_username and es_dc headers."""

from __future__ import annotations

from urllib.parse import urljoin

import pytest

from contract_tests.client import Client
from contract_tests.errors import ContractViolation
from contract_tests.facts import Operation
from contract_tests.run import Run

#: A well-formed id: the redirect is decided by the URL before the task is looked at.
SOME_TASK = "0e0d0-00000000-0000-0000-0000"


def _gets(run: Run) -> list[Operation]:
    return [op for op in run.facts.operations.values() if op.method == "GET" and not op.is_public]


def test_missing_trailing_slash_redirects_permanently(esdc_run: Run, user: Client) -> None:
    for op in _gets(esdc_run):
        path = op.path.replace("{task_id}", SOME_TASK).rstrip("/")
        exchange = user.request("GET", path + "?page=1")
        location = exchange.header("location") or ""
        wanted = user.url(path + "/") + "?page=1"
        if exchange.status != 301 or urljoin(exchange.url, location) != wanted:
            raise ContractViolation(
                f"{path} lacks its trailing slash: the answer must be 301 to {wanted} (Django's "
                f"APPEND_SLASH), not {exchange.status} to {location or 'nowhere'}",
                exchange,
            )


@pytest.fixture(scope="module")
def usernames(esdc_run: Run) -> dict[str, str | None]:
    """The account name of each identity, where the suite can know it (reference servers)."""
    if esdc_run.control is None:
        return {}
    return {identity: esdc_run.control.username(key) for identity, key in esdc_run.keys.items()}


def test_answers_carry_the_es_headers(
    esdc_run: Run, user: Client, anonymous: Client, usernames: dict[str, str | None]
) -> None:
    names = esdc_run.facts.es_headers
    seen: dict[str, set[str]] = {}
    exchanges = [user.get(op.path.replace("{task_id}", SOME_TASK)) for op in _gets(esdc_run)]
    exchanges += [anonymous.get("/task/"), user.get("/task/log/", page=0)]
    for exchange in exchanges:
        missing = [name for name in names if exchange.header(name) is None]
        if missing:
            raise ContractViolation(
                f"the answer lacks the {', '.join(missing)} header(s); every answer of the API "
                "carries es_version, es_username and es_dc",
                exchange,
            )
        seen.setdefault(exchange.identity, set()).add(exchange.header("es_username") or "")
    if seen.get("anonymous", {""}) != {""}:
        raise ContractViolation("es_username must be empty when nobody is logged in", exchanges[-2])
    if len(seen["user"]) != 1:
        raise ContractViolation(
            f"es_username changed between answers to one user: {sorted(seen['user'])}",
            *exchanges[:2],
        )
    expected = usernames.get("user")
    if expected is not None and seen["user"] != {expected}:
        raise ContractViolation(f"es_username should name the caller, {expected!r}", exchanges[0])
    dc = user.get("/task/", dc="main") if esdc_run.control is not None else None
    if dc is not None and dc.header("es_dc") != "main":
        raise ContractViolation("es_dc must name the datacenter the request ran in (dc=main)", dc)
