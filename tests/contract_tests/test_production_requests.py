"""What the suite sends to a deployment is what its README lists, and nothing that changes a
task or ends a session: run read-only against a reference server that writes down every
request."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

import contract_tests
from contract_tests.facts import SpecFacts
from esdc_api.spec import load_spec
from tests.contract_tests import recorded

README = Path(contract_tests.__file__).parent / "README.md"


def template(facts: SpecFacts, method: str, path: str) -> str:
    """``METHOD /path`` as the README lists it: task ids and datacenters as in the spec."""
    path = re.sub(r"^/api", "", path)
    prefix = "/dc/{dc}" if re.match(r"^/dc/[^/]+/", path) else ""
    rest = re.sub(r"^/dc/[^/]+", "", path)
    routed = facts.route(method, "/api" + rest)
    if routed is not None:
        return f"{method} {prefix}{routed[0].path}"
    for op in sorted(facts.operations.values(), key=lambda op: "{" in op.path):
        pattern = "^" + re.escape(op.path).replace(re.escape("{task_id}"), "[^/]+") + "$"
        if re.match(pattern, rest) or re.match(pattern, rest + "/"):
            return f"{method} {prefix}{op.path if rest.endswith('/') else op.path.rstrip('/')}"
    return f"{method} {path}"


def listed() -> set[str]:
    section = README.read_text().split("## Safe against production", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"`([A-Z]+ /[^`]*)`", section))


@pytest.fixture(scope="module")
def sent(run_suite_once: Any) -> list[recorded.Seen]:
    return run_suite_once


@pytest.fixture(scope="module")
def run_suite_once(tmp_path_factory: pytest.TempPathFactory) -> list[recorded.Seen]:
    import os
    import sys

    from tests.contract_tests.conftest import SUITE, _forget_the_suite

    recorded.SEEN.clear()
    path = list(sys.path)
    _forget_the_suite()
    try:
        pytest.main(
            [
                str(SUITE),
                "--rootdir",
                str(tmp_path_factory.mktemp("production")),
                "-c",
                os.devnull,
                "-p",
                "no:cacheprovider",
                "-q",
                "--esdc-seed=1",
                "--esdc-read-only",
                "--esdc-app=tests.contract_tests.recorded:recorded",
            ]
        )
    finally:
        _forget_the_suite()
        sys.path[:] = path
    return list(recorded.SEEN)


def test_every_request_sent_to_a_deployment_is_listed_in_the_readme(
    sent: list[recorded.Seen],
) -> None:
    facts = SpecFacts(load_spec())
    paths = {op.path for op in facts.operations.values()}
    methods = {
        op.path: {o.method for o in facts.operations.values() if o.path == op.path}
        for op in facts.operations.values()
    }
    unlisted = set()
    for seen in sent:
        name = template(facts, seen.method, seen.path)
        method, _, where = name.partition(" ")
        if name in listed():
            continue
        if where in paths and method not in methods[where] | {"OPTIONS"}:
            continue  # a method the endpoint does not have: the 405 probes
        unlisted.add(name)
    assert sent and not unlisted, sorted(unlisted)


def test_nothing_sent_to_a_deployment_changes_a_task_or_ends_a_session(
    sent: list[recorded.Seen],
) -> None:
    facts = SpecFacts(load_spec())
    changing = {"PUT /task/{task_id}/cancel/", "DELETE /task/{task_id}/", "GET /accounts/logout/"}
    wrong = [
        (seen.method, seen.path, seen.status)
        for seen in sent
        if (seen.authenticated and template(facts, seen.method, seen.path) in changing)
        or (seen.path == "/api/accounts/login/" and seen.method == "POST" and seen.status == 200)
    ]
    assert sent and not wrong, wrong
