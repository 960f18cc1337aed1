"""The spec's declared defects and deviations, read by esdc_api.deviations."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

import pytest

from esdc_api import deviations
from esdc_api.deviations import Request, When
from esdc_api.errors import SpecError
from esdc_api.spec import load_spec
from mockserver.routing import Router

TRANSCRIPT = Path(__file__).resolve().parents[2] / ".." / "shared" / "reference" / "real-4.6"
TRANSCRIPT = TRANSCRIPT / "transcript.jsonl"


def _request(exchange: dict, router: Router, spec: dict) -> Request:
    sent = exchange["request"]
    url = urlsplit(sent["path"])
    path = unquote(url.path)
    operation_id = None
    resolved = router.resolve(path.replace("/api/dc/main", "/api"))
    if resolved is not None:
        item = spec["paths"][resolved[0].template]
        operation = item.get(sent["method"].lower())
        operation_id = None if operation is None else operation["operationId"]
    headers = {name.lower(): value for name, value in sent["headers"]}
    literal = headers.get("es-api-key", "").startswith("<") or "<token" in headers.get(
        "authorization", ""
    )
    sends_credentials = "es-api-key" in headers or "authorization" in headers
    return Request(
        method=sent["method"],
        path=path,
        operation_id=operation_id,
        query=parse_qsl(url.query, keep_blank_values=True),
        headers=headers,
        body=sent["body"],
        credentials="valid" if literal else ("invalid" if sends_credentials else "none"),
    )


def test_every_recorded_real_500_is_a_known_defect_of_4_6() -> None:
    spec = load_spec()
    router = Router(spec, "/api")
    exchanges = [json.loads(line) for line in TRANSCRIPT.read_text().splitlines()]
    errors = [e for e in exchanges if e["response"]["status"] == 500]
    assert len(errors) == 12  # the recording's 500s
    for exchange in errors:
        request = _request(exchange, router, spec)
        defect = deviations.defect_for(spec, request, 500, version="4.6")
        assert defect is not None, f"n={exchange['n']} {exchange['note']}: no known defect"
        assert exchange["response"]["body"] == defect.real["body"]


def test_no_known_defect_claims_a_recorded_answer_that_is_not_a_500() -> None:
    spec = load_spec()
    router = Router(spec, "/api")
    for line in TRANSCRIPT.read_text().splitlines():
        exchange = json.loads(line)
        if exchange["response"]["status"] == 500:
            continue
        request = _request(exchange, router, spec)
        for defect in deviations.known_defects(spec):
            assert not defect.when.holds(request), (
                f"{defect.id} also holds for n={exchange['n']} ({exchange['note']}), which "
                f"answered {exchange['response']['status']}"
            )


def test_a_defect_applies_only_to_the_versions_it_names() -> None:
    spec = load_spec()
    request = Request("GET", "/api/task/", "taskList", query=[("dc", "\x00")])
    assert deviations.defect_for(spec, request, 500, version="4.6") is not None
    assert deviations.defect_for(spec, request, 500, version="4.7") is None
    assert deviations.defect_for(spec, request, 404, version="4.6") is None


@pytest.mark.parametrize(
    ("when", "request_", "holds"),
    [
        (
            {"parameter": "dc", "value": "non-ascii"},
            Request("GET", "/api/task/", query=[("dc", "č")]),
            True,
        ),
        (
            {"parameter": "dc", "value": "non-ascii"},
            Request("GET", "/api/task/", query=[("dc", "main")]),
            False,
        ),
        (
            {"parameter": "dc", "value": "nul"},
            Request("PUT", "/x/", body='{"dc": "a\\u0000"}'),
            True,
        ),
        (
            {"parameter": "force", "value": "container"},
            Request("PUT", "/x/", body='{"force": [1]}'),
            True,
        ),
        (
            {"parameter": "force", "value": "container"},
            Request("PUT", "/x/", body='{"force": "no"}'),
            False,
        ),
        ({"body": "non-object-json"}, Request("POST", "/x/", body="[1]"), True),
        ({"body": "non-object-json"}, Request("POST", "/x/", body="{bad"), False),
        ({"body": "non-object-json"}, Request("POST", "/x/", body='{"a": 1}'), False),
        ({"accept": "not-json"}, Request("GET", "/x/", headers={"accept": "text/html"}), True),
        ({"accept": "not-json"}, Request("GET", "/x/", headers={"accept": "*/*; indent=2"}), False),
        ({"path": "/api"}, Request("GET", "/api/"), False),
        ({"method": "options"}, Request("OPTIONS", "/api/task/"), True),
        (
            {"parameter": "object_name", "value": "nul", "also": ["page"]},
            Request("GET", "/x/", query=[("object_name", "\x00"), ("page", "")]),
            False,
        ),
    ],
)
def test_a_condition_holds_when_every_key_holds(when: dict, request_: Request, holds: bool) -> None:
    assert When(when).holds(request_) is holds


def test_an_unknown_predicate_is_refused_naming_the_entry() -> None:
    spec = {"x-deviations": [{"id": "odd", "when": {"value": "weird"}}]}
    with pytest.raises(SpecError, match="'odd'.*unknown value 'weird'"):
        deviations.deviations(spec)
