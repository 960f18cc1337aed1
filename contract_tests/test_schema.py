"""Schemathesis on every operation, one part at a time so that a short budget spends itself in
order of value: every operation's examples, then the coverage phase (every boundary and
invalid value of every parameter), then fuzzing, then stateful scenarios; with the checks and
allowances of :mod:`contract_tests.schema`."""

from __future__ import annotations

from typing import Any

import hypothesis
import pytest
import schemathesis
from hypothesis.database import InMemoryExampleDatabase
from hypothesis.errors import FlakyStrategyDefinition

from contract_tests.plugin import current

run = current()


def _conforms(case: schemathesis.Case[Any]) -> None:
    run.exercise(case)


# One test function per part and identity, each parametrized over the operations; the plugin
# orders them by part. (Their names say the part: the plan reads it from them.)
for _identity in ("user", "peer", "admin"):
    if _identity == "peer" and not run.shared_with_peer():
        continue
    for _phase in ("examples", "coverage", "fuzzing"):
        _schema = run.schemathesis(_identity, phase=_phase)
        if _schema is None:
            continue
        _name = (
            f"test_{_phase}_conform_to_the_spec"
            if _identity == "user"
            else f"test_{_identity}_{_phase}_conform_to_the_spec"
        )

        def _test(case: schemathesis.Case[Any]) -> None:
            _conforms(case)

        _test.__name__ = _test.__qualname__ = _name
        globals()[_name] = _schema.parametrize()(_test)

stateful_schema = run.schemathesis("user", stateful=True)
assert stateful_schema is not None  # the run always has a user's key


class _Scenarios(stateful_schema.as_state_machine()):  # type: ignore[misc]
    """Sequences of calls that follow the spec's links (a listed task's status, ...)."""

    def get_call_kwargs(self, case: schemathesis.Case[Any]) -> dict[str, object]:
        return run.call_kwargs()

    def before_call(self, case: schemathesis.Case[Any]) -> None:
        run.make_safe(case)
        if run.budget.exhausted:
            pytest.skip(
                f"the time budget of {run.settings.budget:g} s ran out before the stateful phase"
            )


class TestStatefulScenarios(_Scenarios.TestCase):  # type: ignore[name-defined,misc]
    settings = hypothesis.settings(
        max_examples=run.settings.profile_values.stateful_examples,
        stateful_step_count=run.settings.profile_values.stateful_steps,
        database=InMemoryExampleDatabase(),
        deadline=None,
        suppress_health_check=list(hypothesis.HealthCheck),
    )

    def runTest(self) -> None:
        # Scenarios change the server (they cancel tasks, log in): Hypothesis may find that a
        # scenario it replays now draws different data from the changed answers. That says
        # nothing about the API, so the phase is tried once more, then given up with a note,
        # as schemathesis's own runner does. (A failure that does not repeat still fails.)
        for _attempt in range(2):
            try:
                super().runTest()
                return
            except FlakyStrategyDefinition:
                continue
        run.ledger.note("the stateful phase gave up: its scenarios drew different data on replay")
        pytest.skip("the stateful scenarios could not be replayed against the changed server")


@pytest.mark.esdc_check("documented-answers", part="whole run")
def test_authenticated_requests_succeed() -> None:
    """A run whose every request was refused tested nothing: some must have succeeded."""
    answers = run.ledger.answers
    if not answers:
        pytest.skip("schemathesis sent nothing (deselected, or out of time)")
    required = ["GET /task/", "GET /task/log/"]
    if run.keys.get("admin") is not None:
        required.append("GET /task/log/stats/")
    refused = {
        label: dict(answers[label])
        for label in required
        if answers[label] and not any(200 <= s < 300 for s in answers[label])
    }
    assert not refused, (
        "no request to these operations succeeded, so the suite tested only refusals; check the "
        f"API keys and the URL (answers by status: {refused})"
    )
