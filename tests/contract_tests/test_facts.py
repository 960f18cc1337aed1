"""The suite reads its expectations from the spec, and they are the reference server's too."""

from __future__ import annotations

from contract_tests.facts import SpecFacts
from esdc_api.spec import load_spec
from mockserver.lifecycle import HTTP_STATUS
from mockserver.tasklog import LAST_SIZE, PAGE_SIZE


def test_the_state_table_read_from_the_spec_is_the_reference_servers() -> None:
    facts = SpecFacts(load_spec())
    assert facts.state_http_status == {str(state): status for state, status in HTTP_STATUS.items()}


def test_page_sizes_read_from_the_spec_are_the_reference_servers() -> None:
    facts = SpecFacts(load_spec())
    assert (facts.page_size, facts.last_size) == (PAGE_SIZE, LAST_SIZE)


def test_a_request_path_is_routed_to_its_operation() -> None:
    facts = SpecFacts(load_spec())
    routed = facts.route("GET", "/api/dc/lab/task/3e3d1-8c2f4a17-5b3e-4d21-a9f0/done/")
    assert routed is not None
    op, params = routed
    assert op.operation_id == "taskDone" and params == {"task_id": "3e3d1-8c2f4a17-5b3e-4d21-a9f0"}
    assert facts.route("GET", "/api/task/log/")[0].operation_id == "taskLog"  # type: ignore[index]


def test_a_method_the_log_does_not_have_is_not_routed_to_a_task() -> None:
    facts = SpecFacts(load_spec())
    assert facts.route("DELETE", "/api/task/log/") is None
    assert facts.route("DELETE", "/api/task/3e3d1-8c2f4a17-5b3e-4d21-a9f0/") is not None
