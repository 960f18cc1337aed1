"""What the reference server serves as its specs, and what it prints for a URL outside them."""

from __future__ import annotations

import logging

import pytest
import yaml

from esdc_api.spec import CONTROL_SPEC_ROOT, load_bundle
from tests.conftest import LiveServer


def test_the_api_spec_is_served_as_the_bundle_with_this_servers_url(
    live_server: LiveServer,
) -> None:
    with live_server.client() as client:
        as_json = client.get("/api/openapi.json")
        as_yaml = client.get("/api/openapi.yaml")

    assert as_json.status_code == 200
    assert as_json.headers["content-type"] == "application/json"
    served = as_json.json()
    assert served == {**load_bundle(), "servers": [{"url": "/api"}]}
    assert "TaskStatusSuccess" in served["components"]["schemas"]
    assert yaml.safe_load(as_yaml.text) == served


def test_the_control_spec_is_served_as_its_bundle(live_server: LiveServer) -> None:
    with live_server.client() as client:
        served = client.get("/control/openapi.json").json()

    assert served == {**load_bundle(CONTROL_SPEC_ROOT), "servers": [{"url": "/control"}]}
    assert "Clock" in served["components"]["schemas"]


def test_swagger_ui_reads_the_served_spec(live_server: LiveServer) -> None:
    with live_server.client() as client:
        page = client.get("/api/ui/")

    assert page.status_code == 200
    assert '"/api/openapi.json"' in page.text


def test_a_url_outside_the_apis_is_a_404_without_a_line_on_the_console(
    live_server: LiveServer, caplog: pytest.LogCaptureFixture
) -> None:
    # Without a logging setup, Python prints records of WARNING and above on stderr.
    with caplog.at_level(logging.WARNING), live_server.client() as client:
        response = client.get("/nope")

    assert response.status_code == 404
    assert response.json()["title"] == "Not Found"
    assert [record.getMessage() for record in caplog.records] == []


def test_the_task_log_form_swagger_ui_fills_in_finds_entries(live_server: LiveServer) -> None:
    # Swagger UI puts each parameter's example, else its schema's example or default, into
    # the form (swagger-api/swagger-ui#5776); the task log's must not filter everything out.
    with live_server.client("alice") as client:
        spec = client.get("/api/openapi.json").json()
        parameters = spec["components"]["parameters"]
        operation = spec["paths"]["/task/log/"]["get"]
        query = {}
        for ref in operation["parameters"]:
            parameter = parameters[ref["$ref"].rsplit("/", 1)[1]]
            schema = parameter.get("schema", {})
            for value in (parameter.get("example"), schema.get("example"), schema.get("default")):
                if value is not None:
                    query[parameter["name"]] = (
                        str(value).lower() if value in (True, False) else value
                    )
                    break
        answer = client.get("/api/task/log/", params=query)

    assert "page" in query and "status" in query
    assert answer.status_code == 200
    assert answer.json()["count"] > 0
