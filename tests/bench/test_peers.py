"""The peers' setup: WireMock's stubs from the spec's examples, Mockoon's routes in order."""

from __future__ import annotations

import json
import re

from bench.peers import mockoon_environment, wiremock_stubs

SPEC = {
    "paths": {
        "/api/task/{task_id}/": {
            "get": {
                "responses": {
                    "200": {
                        "content": {"application/json": {"examples": {"a": {"value": {"x": 1}}}}}
                    }
                }
            },
            "delete": {"responses": {"403": {"description": "no"}}},
        },
        "/api/task/log/": {
            "get": {
                "responses": {
                    "400": {"description": "bad"},
                    "200": {"content": {"application/json": {"example": {"results": []}}}},
                }
            }
        },
    }
}


def test_each_operation_with_a_2xx_answer_gets_a_stub_of_its_first_example() -> None:
    stubs = wiremock_stubs(SPEC)
    assert [(s["request"]["method"], s["priority"]) for s in stubs] == [("GET", 5), ("GET", 1)]
    templated, literal = stubs
    assert json.loads(templated["response"]["body"]) == {"x": 1}
    assert json.loads(literal["response"]["body"]) == {"results": []}
    assert templated["response"]["headers"] == {"Content-Type": "application/json"}


def test_a_stub_matches_its_paths_and_literal_paths_win() -> None:
    templated, literal = wiremock_stubs(SPEC)
    pattern = re.compile(templated["request"]["urlPathPattern"])
    assert pattern.fullmatch("/api/task/3e3d1-8c2f4a17-5b3e-4d21-a9f0/")
    assert not pattern.fullmatch("/api/task/a/b/")
    assert literal["priority"] < templated["priority"]  # WireMock: 1 is tried first


def test_mockoon_routes_put_literal_paths_first_and_listen_on_the_port() -> None:
    imported = {
        "routes": [
            {"uuid": "a", "endpoint": "api/task/:task_id/"},
            {"uuid": "b", "endpoint": "api/task/log/"},
        ],
        "rootChildren": [{"type": "route", "uuid": "a"}, {"type": "route", "uuid": "b"}],
        "port": 3000,
    }
    environment = mockoon_environment(imported, 4321)
    assert [c["uuid"] for c in environment["rootChildren"]] == ["b", "a"]
    assert (environment["port"], environment["hostname"]) == (4321, "127.0.0.1")
