"""Which operation a recorded request is for, from the spec's paths alone."""

from __future__ import annotations

import pytest

from esdc_api import deviations
from esdc_api.replay import Exchange
from esdc_api.replay.credentials import kind_of
from esdc_api.replay.routes import Routes
from esdc_api.spec import Spec


@pytest.mark.parametrize(
    ("method", "path", "operation_id"),
    [
        ("GET", "/api/task/", "taskList"),
        ("GET", "/api/task/log/", "taskLog"),
        ("GET", "/api/dc/main/task/log/stats/", "taskLogStats"),
        ("GET", "/api/dc/čč/task/", "taskList"),
        ("GET", "/api/task/9e9d1-c0ffee03-1234-4abc-8def/status/", "taskStatus"),
        ("PUT", "/api/task/9e9d1-c0ffee03-1234-4abc-8def/cancel/", "taskCancel"),
        ("POST", "/api/accounts/login/", "login"),
        ("OPTIONS", "/api/task/", "describeTaskList"),  # the spec describes OPTIONS too
        ("POST", "/api/task/", None),
    ],
)
def test_a_path_names_the_operation_its_method_has_there(
    spec: Spec, method: str, path: str, operation_id: str | None
) -> None:
    route = Routes(spec).match(method, path)
    assert route is not None
    assert route.operation_id == operation_id


@pytest.mark.parametrize("path", ["/api/task", "/api", "/", "/api/task/log", "/api/nosuch/"])
def test_a_path_no_endpoint_has_names_none(spec: Spec, path: str) -> None:
    assert Routes(spec).match("GET", path) is None


def test_a_request_is_described_decoded_with_its_blank_parameters(spec: Spec) -> None:
    request, route = Routes(spec).request(
        "GET", "/api/task/log/?page=1&status=&dc=%C4%8D", {"Accept": "*/*"}, None, "valid"
    )
    assert route is not None and route.template == "/task/log/"
    assert request.path == "/api/task/log/"
    assert list(request.query) == [("page", "1"), ("status", ""), ("dc", "č")]
    assert request.headers == {"accept": "*/*"}


def test_every_recorded_500_is_a_known_defect_as_the_replay_describes_it(
    exchanges: list[Exchange], spec: Spec
) -> None:
    routes = Routes(spec)
    errors = [e for e in exchanges if e.response.status == 500]
    assert errors
    for exchange in errors:
        sent = exchange.request
        request, _ = routes.request(
            sent.method, sent.target, dict(sent.headers), sent.body, kind_of(exchange)
        )
        assert deviations.defect_for(spec, request, 500, "4.6") is not None, exchange.note
