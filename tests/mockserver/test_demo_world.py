"""The demo world holds the tasks the spec's examples name, in the states the examples show."""

from __future__ import annotations

from typing import Any

import pytest

from esdc_api.spec import load_spec
from mockserver.deployment import Deployment
from tests.mockserver.conftest import dc, user


def status_examples() -> list[tuple[str, str, dict[str, Any]]]:
    spec = load_spec()
    found = []
    for path in ("/task/{task_id}/status/", "/task/{task_id}/state/"):
        responses = spec["paths"][path]["get"]["responses"]
        for code, response in responses.items():
            for name, example in (
                response.get("content", {}).get("application/json", {}).get("examples", {}).items()
            ):
                value = example["value"]
                if isinstance(value, dict) and "task_id" in value:
                    found.append((code, name, value))
    return found


@pytest.mark.parametrize(
    ("code", "name", "example"), status_examples(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_status_examples_describe_the_demo_world_at_the_docs_clock(
    deployment: Deployment, code: str, name: str, example: dict[str, Any]
) -> None:
    status = deployment.task_status(user(deployment, "alice"), example["task_id"])
    assert (str(int(status.http_status)), str(status.state), status.result) == (
        code,
        example["status"],
        example["result"],
    )


def test_task_list_example_is_alices_running_tasks(deployment: Deployment) -> None:
    example = load_spec()["paths"]["/task/"]["get"]["responses"]["200"]["content"][
        "application/json"
    ]["examples"]["running"]["value"]
    assert sorted(
        deployment.task_list(user(deployment, "alice"), dc(deployment, "main"))
    ) == sorted(example)


def test_details_example_is_the_pending_task(deployment: Deployment) -> None:
    example = load_spec()["paths"]["/task/{task_id}/"]["get"]["responses"]["200"]["content"][
        "application/json"
    ]["examples"]["details"]["value"]
    assert (
        deployment.task_details(
            user(deployment, "alice"), dc(deployment, "main"), example["task_id"]
        )
        == example
    )


def test_last_entries_example_starts_with_alices_newest_entries(deployment: Deployment) -> None:
    example = load_spec()["paths"]["/task/log/"]["get"]["responses"]["200"]["content"][
        "application/json"
    ]["examples"]["last"]["value"]
    newest = [
        e.as_cached_item()
        for e in deployment.log_last(user(deployment, "alice"), dc(deployment, "main"))
    ]
    assert newest[: len(example["results"])] == example["results"]


def test_the_world_is_the_same_for_the_same_start_and_seed(deployment: Deployment) -> None:
    from random import Random

    from mockserver.store import Store
    from mockserver.worlds.install import install_demo

    again = Store(":memory:")
    install_demo(again, deployment.now())
    other = Deployment(again, deployment.clock, rng=Random(1))
    admin, main = user(deployment, "admin"), dc(deployment, "main")
    assert [e.as_cached_item() for e in other.log_last(admin, main)] == [
        e.as_cached_item() for e in deployment.log_last(admin, main)
    ]
    assert other.task_list(admin, main) == deployment.task_list(admin, main)
