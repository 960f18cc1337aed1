"""The lifecycle page is drawn from TaskState: its enum, x-http-status and x-transitions."""

from __future__ import annotations

import pytest

from esdc_api.docs.errors import SpecGap
from esdc_api.docs.lifecycle import diagram_svg, lifecycle_rst, task_state_schema, transitions
from esdc_api.spec import load_spec


def test_each_state_is_listed_with_the_http_status_of_the_spec() -> None:
    spec = load_spec()
    schema = task_state_schema(spec)
    text = lifecycle_rst(spec)
    for state, code in schema["x-http-status"].items():
        assert f"   * - ``{state}``\n     - :http:statuscode:`{code}`" in text


def test_the_diagram_has_a_box_per_state_and_an_arrow_per_transition() -> None:
    schema = task_state_schema(load_spec())
    moves = transitions(schema)
    svg = diagram_svg(schema["enum"], schema["x-http-status"], moves)
    assert svg.count("<rect ") == len(schema["enum"])
    assert svg.count("<line ") + svg.count("<path ") == len(moves) + 1  # + the arrowhead
    for state in schema["enum"]:
        assert f">{state}</text>" in svg


def test_a_transition_to_a_state_that_does_not_exist_is_a_spec_gap() -> None:
    schema = {
        "enum": ["PENDING"],
        "x-transitions": [{"from": "PENDING", "to": "GONE", "when": "x"}],
    }
    with pytest.raises(SpecGap, match="not in the enum"):
        transitions(schema)
