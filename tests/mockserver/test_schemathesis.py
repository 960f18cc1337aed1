"""Schemathesis over HTTP finds no server error and no answer that breaks the spec."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from esdc_api.spec import dump, load_spec
from tests.conftest import LiveServer

# positive_data_acceptance is left out: this API answers schema-valid requests with 4xx by
# design (410/400 for a revoked or failed task, 406 for a task that cannot be cancelled, 404
# for a page past the end, 400 for a wrong password), all documented in the spec. The contract
# suite (contract_tests/) judges those per operation.
CHECKS = (
    "not_a_server_error,status_code_conformance,content_type_conformance,"
    "response_headers_conformance,response_schema_conformance,negative_data_rejection"
)
CONFIG = """
[checks.negative_data_rejection]
# The real API refuses bad input with these: 403 for a malformed task id, 404 for a bad page,
# 412 for a bad order_by or last, 400 for everything else.
expected-statuses = ["400", "403", "404", "406", "412"]

[warnings]
fail-on = ["base_url_mismatch"]

[[operations]]
include-operation-id = "taskLog"
# Without page the task log answers its last entries and ignores every filter, valid or not
# (the spec's Page parameter; x-only-with: page), so invalid filters there are accepted by
# design, which this plain run cannot tell from a bug: 200 is expected there too.
# contract_tests tells the two modes apart request by request.
checks.negative_data_rejection.expected-statuses = ["200", "400", "403", "404", "406", "412"]
"""


# A task id no URL pattern routes gets the 404 real deployments give there, "Resource not found"
# labelled application/json although it is not JSON (F18, which the reference server copies), so
# no client can parse it. This plain run cannot tell it from a broken answer and lets exactly that
# answer's failures go; the contract suite judges it (contract_tests/deviations.py).
HOOKS = """
import schemathesis


@schemathesis.hook
def filter_failure(context, failure, case, response):
    return not (response.status_code == 404 and response.text == {not_routed!r})
"""


def st() -> str:
    return str(Path(sys.executable).with_name("st"))


@pytest.mark.parametrize("user", ["alice", "admin"])
def test_schemathesis_run_over_http_is_clean(
    live_server: LiveServer, tmp_path: Path, user: str
) -> None:
    spec_file, config, events = (
        tmp_path / "spec.json",
        tmp_path / "schemathesis.toml",
        tmp_path / "events.ndjson",
    )
    spec = load_spec()
    dump(spec, spec_file)
    config.write_text(CONFIG)
    (tmp_path / "esdc_hooks.py").write_text(HOOKS.format(not_routed=_not_routed(spec)))
    run = subprocess.run(
        [
            st(),
            "--config-file",
            str(config),
            "run",
            str(spec_file),
            "--url",
            f"{live_server.url}/api",
            "-H",
            f"ES-API-KEY: demo-{user}-key",
            "--phases",
            "examples,coverage,fuzzing",
            "--checks",
            CHECKS,
            "--max-examples",
            "30",
            "--seed",
            "7",
            "--generation-database",
            "none",
            "--report",
            "ndjson",
            "--report-ndjson-path",
            str(events),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,  # schemathesis keeps a crash cache in the working directory
        env={**os.environ, "SCHEMATHESIS_HOOKS": "esdc_hooks", "PYTHONPATH": str(tmp_path)},
    )
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    statuses = [int(s) for s in _statuses(events)]
    assert sum(200 <= s < 300 for s in statuses) > 50, (
        "the run must reach the API, not just its 403s"
    )


CONTROL_CONFIG = """
[checks.negative_data_rejection]
expected-statuses = ["400", "404"]

[warnings]
fail-on = ["base_url_mismatch"]
"""

# Building a world's history is what a reset's time goes to (a million tasks take a minute
# here); tests/mockserver/test_control.py builds a big one while other requests are answered.
# The fuzzer's resets stay small, so that the run covers every operation in its budget.
CONTROL_HOOKS = """
import schemathesis


@schemathesis.hook
def before_call(context, case, kwargs):
    body = case.body
    if case.operation.path == "/reset/" and isinstance(body, dict):
        history = body.get("history")
        if isinstance(history, int) and not isinstance(history, bool) and history > 1000:
            body["history"] = history % 1000
"""


def test_schemathesis_run_over_the_control_api_is_clean(
    live_server: LiveServer, tmp_path: Path
) -> None:
    """Issue 12 L5: the control API's answers agree with its own spec (its 400s were
    ``{"field": ["message"]}`` where the spec says ``{"detail": string}``)."""
    config, events = tmp_path / "schemathesis.toml", tmp_path / "events.ndjson"
    config.write_text(CONTROL_CONFIG)
    (tmp_path / "esdc_hooks.py").write_text(CONTROL_HOOKS)
    run = subprocess.run(
        [
            st(),
            "--config-file",
            str(config),
            "run",
            f"{live_server.url}/control/openapi.json",
            "--url",
            f"{live_server.url}/control",
            "--phases",
            "examples,coverage,fuzzing",
            "--checks",
            CHECKS,
            "--max-examples",
            "30",
            "--seed",
            "7",
            "--generation-database",
            "none",
            "--report",
            "ndjson",
            "--report-ndjson-path",
            str(events),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
        env={**os.environ, "SCHEMATHESIS_HOOKS": "esdc_hooks", "PYTHONPATH": str(tmp_path)},
    )
    assert run.returncode == 0, run.stdout[-8000:] + run.stderr[-2000:]
    statuses = [int(s) for s in _statuses(events)]
    assert sum(200 <= s < 300 for s in statuses) > 50


def _not_routed(node: object) -> str:
    """The body the spec's NotRouted schema gives a URL no endpoint matches."""
    if isinstance(node, dict):
        if node.get("title") == "NotRouted":
            return str(node["enum"][0])
        found = [_not_routed(value) for value in node.values()]
    elif isinstance(node, list):
        found = [_not_routed(value) for value in node]
    else:
        return ""
    return next((text for text in found if text), "")


def _statuses(events: Path) -> list[str]:
    found = []
    for line in events.read_text().splitlines():
        found += [m for m in _walk(json.loads(line)) if m.isdigit()]
    return found


def _walk(node: object) -> list[str]:
    if isinstance(node, dict):
        found = [str(node["status_code"])] if "status_code" in node else []
        for value in node.values():
            found += _walk(value)
        return found
    if isinstance(node, list):
        return [s for item in node for s in _walk(item)]
    return []
