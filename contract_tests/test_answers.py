"""The rules of every answer, over all the run got (named checks and schemathesis): a status
and body the spec documents, well-formed HTTP, in time, with the es_* headers its response
lists and an es_username naming the caller. Judged as the answers came
(:mod:`contract_tests.answers`), reported here, last, one test per rule."""

from __future__ import annotations

import pytest

from contract_tests.errors import ContractViolation
from contract_tests.run import Run

WHOLE_RUN = "whole run"


def raise_findings(run: Run, rule: str, what: str) -> None:
    """Fail with every problem of ``rule`` the run found, if it found any."""
    found = run.ledger.findings.get(rule, {})
    if not found:
        return
    lines = [
        f"  - {f.finding.problem} ({f.count}x)" + ("" if f.evidence else f"\n      got: {f.text}")
        for f in list(found.values())[:8]
    ]
    raise ContractViolation(
        f"{len(found)} kind(s) of answer {what}:\n" + "\n".join(lines),
        *[f.evidence for f in found.values() if f.evidence is not None][:3],
        rule=rule,
    )


@pytest.mark.esdc_check("documented-answers", part=WHOLE_RUN)
def test_answers_to_the_named_checks_match_the_spec(esdc_run: Run) -> None:
    """Schemathesis holds its own answers to the spec; this holds the named checks'."""
    raise_findings(esdc_run, "documented-answers", "to the named checks break the spec")


@pytest.mark.esdc_check("well-formed-answers", part=WHOLE_RUN)
def test_answers_are_well_formed(esdc_run: Run) -> None:
    raise_findings(esdc_run, "well-formed-answers", "are not well-formed HTTP")


@pytest.mark.esdc_check("answer-time", part=WHOLE_RUN)
def test_answers_come_in_time(esdc_run: Run) -> None:
    raise_findings(esdc_run, "answer-time", "came late")


@pytest.mark.esdc_check("es-headers", part=WHOLE_RUN)
def test_answers_carry_their_es_headers(esdc_run: Run) -> None:
    raise_findings(esdc_run, "es-headers", "lack es_* headers their documented response lists")


@pytest.mark.esdc_check("es-username", part=WHOLE_RUN)
def test_es_username_names_the_caller(esdc_run: Run) -> None:
    raise_findings(esdc_run, "es-username", "name another caller than the one that asked")
    judge = esdc_run.ledger.judge
    assert judge is not None
    names = {i: n for i, n in judge.usernames.items() if esdc_run.keys.get(i)}
    keys = {i: esdc_run.keys[i] for i in names}
    shared = [
        (a, b)
        for a in names
        for b in names
        if a < b and names[a] == names[b] and keys[a] != keys[b]
    ]
    if shared:
        a, b = shared[0]
        raise ContractViolation(
            f"the {a} and the {b} have different keys but both answers say es_username "
            f"{names[a]!r}; it names the caller",
            rule="es-username",
        )


def _invalid_parameters(run: Run) -> list[tuple[str, str]]:
    found = []
    for op in run.facts.operations.values():
        for param in op.definition.get("parameters", []):
            if "x-invalid" in param and param["in"] == "query":
                found.append((op.operation_id, param["name"]))
    return found


@pytest.mark.esdc_check("invalid-parameters", user=2, admin=1)
def test_invalid_parameters_get_the_answer_the_spec_prescribes(esdc_run: Run) -> None:
    """x-invalid: a page that is not a number is 404, an order_by or last that is none 412."""
    facts = esdc_run.facts
    tried = 0
    for operation_id, name in _invalid_parameters(esdc_run):
        op = facts.operation(operation_id)
        identity = "admin" if op.permission == "Admin" else "user"
        if esdc_run.keys.get(identity) is None:
            continue
        param = next(p for p in op.definition["parameters"] if p["name"] == name)
        invalid = "not-a-choice" if "enum" in param["schema"] else "not-a-number"
        query = {name: invalid}
        if name != "page" and any(p["name"] == "page" for p in op.definition["parameters"]):
            query["page"] = "1"  # the task log reads its filters only with page
        exchange = esdc_run.client(identity).get(op.path, **query)
        wanted = param["x-invalid"]
        tried += 1
        if exchange.status != wanted["status"] or exchange.json() != {"detail": wanted["detail"]}:
            raise ContractViolation(
                f"{op.label} with {name}={invalid} must answer {wanted['status']} "
                f'{{"detail": {wanted["detail"]!r}}} (the spec\'s x-invalid)',
                exchange,
            )
    if not tried:
        pytest.skip("needs the admin's key for the statistics' last")
