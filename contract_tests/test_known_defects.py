"""The known defects of a version (the spec's ``x-known-defects``): each is provoked once, with
a request that changes nothing, and an answer that is the defect is reported in a section of
its own rather than as drift. Generated requests stay clear of them (:mod:`contract_tests.schema`),
so that schemathesis does not find them a hundred times. ``--esdc-strict`` fails the run for
them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from contract_tests.client import Client, Exchange
from contract_tests.deviations import BODY_IGNORED
from contract_tests.errors import ContractViolation
from contract_tests.run import Run
from esdc_api.deviations import known_defects


@dataclass(frozen=True)
class Probe:
    """How to provoke a defect safely, and what the spec answers instead.

    :param ignored: a body the spec's words let deployments ignore (the cancel-body-ignored
        deviation): then the answer is the task's state.
    """

    send: Callable[[Run], Exchange]
    status: int
    reference_only: bool = False
    ignored: bool = False


def _user(run: Run) -> Client:
    return run.client("user")


def _cancel_with_force_list(run: Run) -> Exchange:
    from contract_tests.tasks import Tasks

    task_id = Tasks(run, _user(run)).make(queued=0, runs=None)
    return _user(run).put(f"/task/{task_id}/cancel/", json={"force": [1]})


#: By defect id: a request that shows it and changes nothing on a deployment.
PROBES: dict[str, Probe] = {
    "dc-not-ascii": Probe(lambda run: _user(run).get("/task/", dc="č"), 404),
    "dc-nul": Probe(lambda run: _user(run).get("/task/", dc="\x00"), 404),
    "object-name-nul": Probe(
        lambda run: _user(run).get("/task/log/", page=1, object_type="vm", object_name="\x00"),
        200,
    ),
    "body-not-an-object": Probe(
        lambda run: run.client("anonymous").request(
            "POST", "/accounts/login/", content=b"[1]", headers={"Content-Type": "application/json"}
        ),
        400,
    ),
    "force-not-a-scalar": Probe(_cancel_with_force_list, 400, reference_only=True, ignored=True),
    "bad-credentials-and-accept": Probe(
        lambda run: run.client("anonymous").request(
            "GET",
            "/task/",
            headers={"ES-API-KEY": "esdc-contract-no-such-key", "Accept": "text/html"},
        ),
        406,
    ),
}


def _ids() -> list[str]:
    from esdc_api.spec import load_spec

    return [defect.id for defect in known_defects(load_spec())]


@pytest.mark.esdc_check("known-defects", user=1, anonymous=1)
@pytest.mark.parametrize("defect_id", _ids())
def test_known_defect_is_reported_apart(esdc_run: Run, defect_id: str) -> None:
    probe = PROBES.get(defect_id)
    if probe is None:
        pytest.skip(f"no safe request is known to provoke {defect_id}")
    if probe.reference_only and esdc_run.control is None:
        pytest.skip(f"safety: provoking {defect_id} takes a cancel, sent only to reference servers")
    exchange = probe.send(esdc_run)
    if defect_id in esdc_run.ledger.defects or exchange.status == probe.status:
        return  # the defect (reported apart), or the answer the spec gives
    body = exchange.json()
    if probe.ignored and isinstance(body, dict) and body.get("status") in esdc_run.facts.states:
        esdc_run.ledger.excuse(BODY_IGNORED, exchange.summary(150))
        return
    raise ContractViolation(
        f"a request that shows the known defect {defect_id} of some versions answered "
        f"{exchange.status}; the spec's answer is {probe.status}, the defect's its own",
        exchange,
    )


@pytest.mark.esdc_check("known-defects", part="whole run")
def test_known_defects_fail_a_strict_run(esdc_run: Run) -> None:
    """With --esdc-strict a known defect fails the run (it is reported apart either way)."""
    found = esdc_run.ledger.defects
    if esdc_run.settings.strict and found:
        raise ContractViolation(
            f"the deployment has {len(found)} known defect(s) of {esdc_run.ledger.version}, "
            "which --esdc-strict fails: "
            + "; ".join(f"{seen.defect.id}: {seen.defect.summary}" for seen in found.values()),
        )
