"""Every `es` command the docs show (the spec's x-es-examples), run through `es` in-process
against the reference server with the demo world at the documentation clock."""

from __future__ import annotations

import io
import json
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
from openapi_schema_validator import OAS30Validator
from starlette.testclient import TestClient

from esdc_api.es import run
from esdc_api.spec import load_spec, operations
from mockserver import create_app
from tests.conftest import KEYS, frozen_settings

SPEC = load_spec()
API_URL = "http://127.0.0.1:8000/api"


def es_examples() -> list[Any]:
    cases = []
    for path, method, operation in operations(SPEC):
        for n in range(len(operation.get("x-es-examples", []))):
            case_id = f"{method.upper()} {path} #{n + 1}"
            cases.append(pytest.param(path, method, operation, n, id=case_id))
    return cases


def run_es(command: str, user: str | None, client: TestClient, home: Path) -> tuple[int, str]:
    env = {"ES_API_URL": API_URL, "ES_TOKEN_STORE": str(home / "token"), "HOME": str(home)}
    if user:
        env["ES_API_KEY"] = KEYS[user]
    out, err = io.StringIO(), io.StringIO()
    code = run(shlex.split(command), client=client, env=env, stdout=out, stderr=err)
    return code, out.getvalue()


@pytest.mark.parametrize(("path", "method", "operation", "index"), es_examples())
def test_documented_es_command_gives_the_documented_answer(
    path: str, method: str, operation: dict[str, Any], index: int, tmp_path: Path
) -> None:
    """Each command runs after the ones before it on the same endpoint, in a fresh world."""
    server = create_app(frozen_settings())
    examples = operation["x-es-examples"]
    with TestClient(server, base_url="http://127.0.0.1:8000") as client:
        for earlier in examples[:index]:
            run_es(earlier["command"], earlier.get("user"), client, tmp_path)
        example = examples[index]
        code, out = run_es(example["command"], example.get("user"), client, tmp_path)

    envelope = json.loads(out)
    assert list(envelope) == ["url", "status", "method", "text"]
    assert envelope["method"] == method.upper()
    assert envelope["url"].startswith(API_URL + "/") and envelope["url"].split("?")[0].endswith("/")
    assert envelope["status"] == example["status"], envelope
    if example["command"].startswith("es login") and example["status"] != 200:
        assert code == 4  # es: a login answer without a token
    else:
        assert code == (0 if example["status"] < 400 else 1)

    response = operation["responses"][str(example["status"])]
    media = response["content"]["application/json"]
    errors = list(OAS30Validator(media["schema"]).iter_errors(envelope["text"]))
    assert not errors, errors[0].message
    if "example" in example:
        documented = media["examples"][example["example"]]["value"]
        answered = envelope["text"]
        if isinstance(answered, dict) and "token" in answered:
            # Tokens are secrets, random whatever the seed: any 40 hex digits match.
            assert re.fullmatch("[0-9a-f]{40}", answered["token"]), answered
            answered = {**answered, "token": documented["token"]}
        assert answered == documented
