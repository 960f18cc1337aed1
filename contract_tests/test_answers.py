"""Every answer the named checks got is one the spec describes: a documented status, and a
JSON body its schema accepts. (Schemathesis judges its own answers the same way.)"""

from __future__ import annotations

import pytest

from contract_tests.errors import ContractViolation
from contract_tests.run import Run


def test_answers_to_the_named_checks_match_the_spec(esdc_run: Run) -> None:
    problems = esdc_run.ledger.nonconforming
    if problems:
        raise ContractViolation(
            f"{len(problems)} kind(s) of answer to the named checks break the spec:\n"
            + "\n".join(f"  - {problem}" for problem in list(problems)[:8]),
            *list(problems.values())[:3],
        )


def _invalid_parameters(run: Run) -> list[tuple[str, str]]:
    found = []
    for op in run.facts.operations.values():
        for param in op.definition.get("parameters", []):
            if "x-invalid" in param and param["in"] == "query":
                found.append((op.operation_id, param["name"]))
    return found


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
