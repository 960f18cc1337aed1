"""The docs' **On demand** note of each operation (``esdc_api.docs.operations.prefer_note``)
lists what the reference server really answers to ``Prefer``: each code and example it names,
asked for over HTTP, is answered with that code."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from esdc_api.docs.operations import prefer_note
from esdc_api.spec import load_spec
from mockserver import create_app
from tests.conftest import LiveServer, auth, frozen_settings, serve_in_thread

STARTED = "3e3d1-4b1d9e06-2c7a-4f83-8e15"  # alice's, STARTED at the documentation clock
METHODS = ("get", "put", "post", "delete", "patch")


def listed(note: list[str]) -> list[tuple[int, str | None]]:
    """The (code, example) pairs a note offers; ``None`` for a code's first example."""
    text = " ".join(note).split(" of ", 1)[1]
    pairs: list[tuple[int, str | None]] = []
    for code, names in re.findall(r"(\d{3})(?: \(([^)]*)\))?", text):
        pairs.append((int(code), None))
        pairs += [(int(code), name) for name in re.findall(r"``([^`]+)``", names)]
    return pairs


OFFERS = [
    pytest.param(method, path, code, name, id=f"{operation['operationId']}-{code}-{name}")
    for path, item in load_spec()["paths"].items()
    for method, operation in item.items()
    if method in METHODS
    for code, name in listed(prefer_note(operation))
]


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    yield from serve_in_thread(create_app(frozen_settings()))


def test_every_operation_of_the_api_has_a_note() -> None:
    operations = {
        (method, path)
        for path, item in load_spec()["paths"].items()
        for method in item
        if method in METHODS
    }
    assert {(offer.values[0], offer.values[1]) for offer in OFFERS} == operations


@pytest.mark.parametrize(("method", "path", "code", "name"), OFFERS)
def test_what_the_note_offers_is_answered(
    server: LiveServer, method: str, path: str, code: int, name: str | None
) -> None:
    prefer = f"code={code}" + ("" if name is None else f", example={name}")
    with server.client(timeout=30) as client:
        answer = client.request(
            method.upper(),
            "/api" + path.replace("{task_id}", STARTED),
            headers={**auth("admin"), "Prefer": prefer},
        )
    assert answer.status_code == code, answer.text
    applied = answer.headers["preference-applied"]
    assert applied.startswith(f"code={code}") and (name is None or f"example={name}" in applied)
