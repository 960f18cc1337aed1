"""The pipeline calls the task API's operations itself; connexion only when it checks answers."""

from __future__ import annotations

import pytest

from esdc_api.spec import load_spec
from mockserver import create_app
from mockserver.deployment import Deployment
from mockserver.dispatch import Operations
from mockserver.handlers import Handlers
from tests.conftest import LiveServer, auth, frozen_settings, serve_in_thread

PENDING = "3e3d1-e7a05c3b-9d42-4b6e-a1c8"
STARTED = "3e3d1-4b1d9e06-2c7a-4f83-8e15"


def test_every_operation_of_the_spec_has_a_compiled_entry(deployment: Deployment) -> None:
    spec = load_spec()
    operations = Operations(spec, Handlers(deployment))
    for template, item in spec["paths"].items():
        for method in ("get", "put", "post", "delete"):
            if method in item:
                entry = operations.get(template, method.upper())
                assert entry is not None and entry.operation_id == item[method]["operationId"]


def test_a_handler_missing_for_an_operation_fails_at_start_up(deployment: Deployment) -> None:
    class Partial:
        async def taskList(self) -> None: ...

    with pytest.raises(LookupError, match="taskDetails"):
        Operations(load_spec(), Partial())


def test_a_login_body_in_another_media_type_gets_the_real_415(live_server: LiveServer) -> None:
    """n=373-375 (F8): Django REST framework's message, labelled JSON, with es_* headers."""
    with live_server.client() as client:
        form = client.post(
            "/api/accounts/login/",
            content=b"username=alice&password=alice",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        untyped = client.post("/api/accounts/login/", content=b'{"username": "alice"}')
    assert (form.status_code, form.json()) == (
        415,
        {"detail": 'Unsupported media type "application/x-www-form-urlencoded" in request.'},
    )
    assert untyped.json() == {"detail": 'Unsupported media type "" in request.'}
    assert form.headers["content-type"] == "application/json"
    assert (form.headers["es_version"], form.headers["es_username"]) == ("4.6", "")
    assert "es_dc" not in form.headers


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("GET", "/api/task/log/?page=2&hide_auto=0", None, 200),
        ("GET", "/api/task/log/?page=1&status=FOO", None, 400),
        ("GET", "/api/task/log/?page=1&order_by=hostname", None, 412),
        ("GET", f"/api/task/{PENDING}/done/", None, 201),
        ("PUT", f"/api/task/{STARTED}/cancel/", {"force": True}, 410),
        ("POST", "/api/accounts/login/", {"username": "alice"}, 400),
    ],
)
def test_answers_are_the_same_when_connexion_validates_the_responses(
    live_server: LiveServer, method: str, path: str, body: object, status: int
) -> None:
    for checked in serve_in_thread(create_app(frozen_settings(validate_responses=True))):
        answers = []
        for server in (live_server, checked):
            with server.client() as client:
                response = client.request(method, path, json=body, headers=auth("alice"))
            text = response.text.replace(server.url, "URL")
            answers.append((response.status_code, text, response.headers.get("es_dc")))
        assert answers[0] == answers[1]
        assert answers[0][0] == status
