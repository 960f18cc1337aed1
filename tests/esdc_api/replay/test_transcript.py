"""Reading a transcript: the recording's format, and clear refusals naming line and field."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from esdc_api.replay import Exchange, TranscriptError, load_transcript
from tests.esdc_api.replay.conftest import by_n

LINE: dict[str, Any] = {
    "n": 1,
    "t": 0.5,
    "request": {"method": "get", "path": "/api/task/?dc=%C4%8D", "headers": [["Host", "h"]],
                "body": None},
    "response": {"status": 200, "headers": [["Content-Type", "application/json"]], "body": "[]"},
}  # fmt: skip


def write(tmp_path: Path, *lines: object) -> Path:
    path = tmp_path / "transcript.jsonl"
    path.write_text("\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n")
    return path


def test_the_recording_holds_593_exchanges_in_the_order_sent(exchanges: list[Exchange]) -> None:
    assert [e.n for e in exchanges] == list(range(1, 594))
    assert all(a.t <= b.t for a, b in zip(exchanges, exchanges[1:], strict=False))
    assert [e.n for e in exchanges if e.setup_before] == [537, 552]
    assert by_n(exchanges, 552).setup_before[0].message is not None
    assert by_n(exchanges, 537).setup_before[0].message is None
    assert [e.n for e in exchanges if e.worker][0] == 537


def test_a_request_keeps_its_target_encoded_and_its_method_in_capitals(tmp_path: Path) -> None:
    (exchange,) = load_transcript(write(tmp_path, LINE))
    assert exchange.request.method == "GET"
    assert exchange.request.target == "/api/task/?dc=%C4%8D"
    assert exchange.throttle_reset is True and exchange.worker is False


def test_a_body_given_in_base64_is_read_as_its_bytes(tmp_path: Path) -> None:
    response = {**LINE["response"], "body_base64": base64.b64encode(b"\xff\x00").decode()}
    del response["body"]
    (exchange,) = load_transcript(write(tmp_path, {**LINE, "response": response}))
    assert exchange.response.body == b"\xff\x00"


def test_a_line_that_is_not_json_is_refused_naming_the_line(tmp_path: Path) -> None:
    with pytest.raises(TranscriptError, match=r"transcript\.jsonl:2: not a JSON object"):
        load_transcript(write(tmp_path, LINE, "{oops"))


def test_a_missing_field_is_refused_naming_it(tmp_path: Path) -> None:
    broken = {**LINE, "request": {k: v for k, v in LINE["request"].items() if k != "method"}}
    with pytest.raises(TranscriptError, match=r":1: lacks the field 'request\.method'"):
        load_transcript(write(tmp_path, broken))


def test_a_field_of_the_wrong_type_is_refused_naming_it(tmp_path: Path) -> None:
    broken = {**LINE, "response": {**LINE["response"], "status": "200"}}
    with pytest.raises(TranscriptError, match=r"status of response is '200', not an integer"):
        load_transcript(write(tmp_path, broken))


def test_exchanges_out_of_the_order_sent_are_refused(tmp_path: Path) -> None:
    with pytest.raises(TranscriptError, match=r"n=2 was sent at t=0\.1, before n=1"):
        load_transcript(write(tmp_path, LINE, {**LINE, "n": 2, "t": 0.1}))


def test_a_missing_or_empty_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(TranscriptError, match="no such file"):
        load_transcript(tmp_path / "nothing.jsonl")
    with pytest.raises(TranscriptError, match="holds no exchange"):
        load_transcript(write(tmp_path, ""))
