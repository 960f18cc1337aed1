"""A Python client generated from the served spec by openapi-python-client types every answer.

The client is generated into a temporary folder, then every operation is called with it against
a reference server over HTTP, once for each status the spec documents for it, and the answer
must come back parsed as the model of that status' schema.

Each operation's 403, 406 and 429 come from its first call below made without credentials,
with ``Accept: text/html``, and on a server that allows one request a minute. What cannot be
provoked, and is therefore not called:

- ``PUT /task/{task_id}/cancel/`` 200 and 400: a real deployment answers them when the task
  ended (successfully, or failing) in the second the cancel waits; no demo task does.
- The 205 of cancel: the demo world's task that answers 205 has ended, so it cannot be
  cancelled.
- The bare-text form of the 404s that have one (``Resource not found`` for a task id no URL
  accepts, labelled ``application/json`` as real deployments label it): it does not parse as
  JSON; the JSON 404 of each of those operations is called instead, and the OPTIONS operations,
  whose only 404 it is, are not called for it.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from esdc_api.spec import load_bundle, operations
from mockserver import create_app
from tests.conftest import KEYS, LiveServer, frozen_settings, serve_in_thread

PACKAGE = "esdc_task_api_client"
# Tasks of the demo world, in the state their name says (tests/mockserver/test_demo_world.py).
SUCCESS = "3e3d1-8c2f4a17-5b3e-4d21-a9f0"
PENDING = "3e3d1-e7a05c3b-9d42-4b6e-a1c8"
FAILURE = "3e3d1-5d9c2e81-6f0b-4a37-bd94"
STARTED = "3e3d1-4b1d9e06-2c7a-4f83-8e15"  # running: a cancel terminates it
CODE_205 = "3e3d1-6f2a9c14-8b3d-4e5f-a071"  # its SUCCESS is answered 205 the first time
REVOKED = "3e3d1-a41f7b3c-0e2d-4c59-8f6a"
DUMMY = "3e3d1-f2a7baf3-1c4e-4d8a-9b27"  # the id of a synchronous call
BOBS = "4e4d1-2c8e5f19-3a7d-4e62-9c01"  # running, created by bob


@dataclass
class Caller:
    """Calls one operation of the generated client as a demo user.

    The generic statuses override how: ``anonymous`` drops the credentials, ``accept`` sets the
    header, ``base_url`` points at another server.
    """

    client: ModuleType
    module: ModuleType
    base_url: str
    anonymous: bool = False
    accept: str = "application/json"
    content_type: str | None = None

    @property
    def models(self) -> ModuleType:
        return importlib.import_module(f"{PACKAGE}.models")

    @property
    def unset(self) -> Any:
        return importlib.import_module(f"{PACKAGE}.types").UNSET

    def __call__(
        self, user: str | None, *args: Any, params: dict[str, str] | None = None, **kwargs: Any
    ) -> Any:
        headers = {"Accept": self.accept}
        hooks: dict[str, list[Callable[[Any], None]]] = {}
        if self.content_type is not None:  # the generated call sets its own: change it on the way
            content_type = self.content_type

            def retype(request: Any) -> None:
                request.headers["Content-Type"] = content_type

            hooks["request"] = [retype]
        if user and not self.anonymous:
            headers["ES-API-KEY"] = KEYS.get(user, "demo-nobody-key")
        client = self.client.Client(
            base_url=self.base_url,
            headers=headers,
            raise_on_unexpected_status=True,
            follow_redirects=False,
            httpx_args={"params": params or {}, "event_hooks": hooks},
        )
        with client:
            return self.module.sync_detailed(*args, client=client, **kwargs)


Call = Callable[[Caller], Any]
# The calls that provoke each status, by operationId. The first is also made without
# credentials (403), with Accept: text/html (406) and on a throttled server (429).
CALLS: dict[str, dict[int, Call]] = {
    "taskList": {
        200: lambda call: call("alice"),
        404: lambda call: call("alice", dc="nope"),
    },
    "taskDetails": {
        200: lambda call: call("alice", PENDING),
        404: lambda call: call("alice", SUCCESS),
    },
    "taskDelete": {
        200: lambda call: call("admin", BOBS, body=call.models.TaskDeleteRequest(force=True)),
        404: lambda call: call("admin", SUCCESS, body=call.models.TaskDeleteRequest(force=True)),
        406: lambda call: call("admin", BOBS),  # Safe task deletion is not implemented
    },
    "taskStatus": {
        200: lambda call: call("alice", SUCCESS),
        205: lambda call: call("alice", CODE_205),  # meta.status, on its first read
        201: lambda call: call("alice", PENDING),
        400: lambda call: call("alice", FAILURE),
        404: lambda call: call("alice", DUMMY),
        410: lambda call: call("alice", REVOKED),
    },
    "taskState": {
        200: lambda call: call("alice", SUCCESS),
        205: lambda call: call("alice", CODE_205),  # meta.status, on its first read
        201: lambda call: call("alice", PENDING),
        400: lambda call: call("alice", FAILURE),
        404: lambda call: call("alice", DUMMY),
        410: lambda call: call("alice", REVOKED),
    },
    "taskDone": {
        200: lambda call: call("alice", SUCCESS),
        205: lambda call: call("alice", CODE_205),  # meta.status, on its first read
        201: lambda call: call("alice", PENDING),
        400: lambda call: call("alice", FAILURE),
        404: lambda call: call("alice", DUMMY),
        410: lambda call: call("alice", REVOKED),
    },
    "taskCancel": {
        410: lambda call: call("alice", STARTED),
        201: lambda call: call("alice", PENDING),  # still in its queue: only marked revoked
        404: lambda call: call("alice", STARTED, body=call.models.TaskCancelRequest(dc="nope")),
        406: lambda call: call("alice", SUCCESS),  # Task cannot be canceled: it has ended
    },
    "taskLog": {
        200: lambda call: call("alice"),
        400: lambda call: call("alice", page=1, object_name="web01"),  # without object_type
        404: lambda call: call("alice", page=999),
        # The client's enum has no wrong value: the query string gets one past it.
        412: lambda call: call(
            "alice", page=1, order_by=call.unset, params={"order_by": "hostname"}
        ),
    },
    "taskLogStats": {
        200: lambda call: call("admin"),
        403: lambda call: call("alice"),  # not an admin
        404: lambda call: call("admin", dc="nope"),
        412: lambda call: call("admin", last=10**12),  # after the year 9999
    },
    "login": {
        200: lambda call: call(
            None, body=call.models.LoginRequest(username="alice", password="alice")
        ),
        400: lambda call: call(
            None, body=call.models.LoginRequest(username="alice", password="no")
        ),
        403: lambda call: call(
            "nobody", body=call.models.LoginRequest(username="alice", password="alice")
        ),  # an unknown API key is refused before the login is read
        415: lambda call: dataclasses.replace(call, content_type="text/plain")(
            None, body=call.models.LoginRequest(username="alice", password="alice")
        ),
    },
    "logout": {
        200: lambda call: call("alice"),
    },
    "ping": {
        200: lambda call: call(None),
        403: lambda call: call("nobody"),  # bad credentials are refused, none are needed
    },
    # OPTIONS: the pipeline answers it for any task id a URL accepts.
    "describeTaskList": {200: lambda call: call("alice")},
    "describeTaskDetails": {200: lambda call: call("alice", PENDING)},
    "describeTaskStatus": {200: lambda call: call("alice", PENDING)},
    "describeTaskState": {200: lambda call: call("alice", PENDING)},
    "describeTaskDone": {200: lambda call: call("alice", PENDING)},
    "describeTaskCancel": {200: lambda call: call("alice", PENDING)},
    "describeTaskLog": {200: lambda call: call("alice")},
    "describeTaskLogStats": {200: lambda call: call("alice")},
    "describeLogin": {200: lambda call: call(None), 403: lambda call: call("nobody")},
    "describeLogout": {200: lambda call: call("alice")},
    "describePing": {200: lambda call: call(None), 403: lambda call: call("nobody")},
}
#: Operations that need no credentials: without them they answer, so their 403 is a bad key's.
PUBLIC = {"login", "ping", "describeLogin", "describePing"}
NOT_PROVOKED = {
    ("taskCancel", 200),
    ("taskCancel", 205),
    ("taskCancel", 400),
    *(
        (operation_id, 404)
        for operation_id in (
            "describeTaskDetails",
            "describeTaskStatus",
            "describeTaskState",
            "describeTaskDone",
            "describeTaskCancel",
        )
    ),
}


@pytest.fixture(scope="module")
def generated(
    served_spec: tuple[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Path]:
    """The client openapi-python-client generates from the served spec, importable."""
    url, _copy = served_spec
    folder = tmp_path_factory.mktemp("client")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(
        [Path(sys.executable).parent / "openapi-python-client", "generate", "--url", url,
         "--output-path", str(folder / PACKAGE), "--meta", "none"],
        capture_output=True, text=True, env=env, cwd=folder, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    # Any warning (a response left out, a duplicate model) would be printed here.
    assert (done.stdout + done.stderr).strip() == f"Generating {folder / PACKAGE}"
    sys.path.insert(0, str(folder))
    try:
        yield folder / PACKAGE
    finally:
        sys.path.remove(str(folder))
        for name in [name for name in sys.modules if name.split(".")[0] == PACKAGE]:
            del sys.modules[name]


@pytest.fixture(scope="module")
def throttled() -> Iterator[LiveServer]:
    """A server that answers one request a minute per user and per anonymous client, the
    minute on its frozen clock: after the first request every one is throttled, however slowly
    the test runs (on real time a minute that ended between two requests let the second
    through)."""
    app = create_app(frozen_settings(throttle=True, user_rate="1/min", anon_rate="1/min"))
    for server in serve_in_thread(app):
        answer = httpx.put(f"{server.url}/control/throttle/", json={"clock": "server"})
        assert answer.status_code == 200, answer.text
        yield server


def documented() -> dict[str, list[int]]:
    return {
        op["operationId"]: sorted(int(code) for code in op["responses"])
        for _path, _method, op in operations(load_bundle())
    }


def answer_schema(operation_id: str, status: int) -> dict[str, Any]:
    """The JSON schema the spec gives an operation's answer of ``status``, as in the bundle."""
    bundle = load_bundle()
    operation = next(op for _p, _m, op in operations(bundle) if op["operationId"] == operation_id)
    response = operation["responses"][str(status)]
    if "$ref" in response:
        response = bundle["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
    schema: dict[str, Any] = response["content"]["application/json"]["schema"]
    return schema


def typed(value: Any, schema: dict[str, Any]) -> bool:
    """Whether the client parsed ``value`` into what ``schema`` describes: the model named after
    the component an object or enum schema is, a list of such for an array, a str for a string."""
    if "oneOf" in schema:
        return any(typed(value, part) for part in schema["oneOf"])
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        component = load_bundle()["components"]["schemas"][name]
        if component.get("type") == "object" or "allOf" in component or "enum" in component:
            cls = type(value)
            return cls.__module__.startswith(f"{PACKAGE}.models.") and cls.__name__ == name
        return typed(value, component)
    if schema.get("type") == "array":
        return isinstance(value, list) and all(typed(item, schema["items"]) for item in value)
    if schema.get("type") == "string":
        return isinstance(value, str)
    return False


def module_of(package: Path, operation_id: str) -> ModuleType:
    name = re.sub(r"(?<!^)(?=[A-Z])", "_", operation_id).lower()
    found = next(package.glob(f"api/*/{name}.py"))
    return importlib.import_module(f"{PACKAGE}.api.{found.parent.name}.{name}")


def test_every_documented_status_has_a_call_or_a_reason() -> None:
    covered = {
        op: sorted({*CALLS.get(op, {}), 403, 406, 429} | {s for o, s in NOT_PROVOKED if o == op})
        for op in documented()
    }

    assert covered == documented()


@pytest.mark.parametrize("operation_id", sorted(CALLS))
def test_the_generated_client_types_every_answer_of(
    operation_id: str, generated: Path, live_server: LiveServer, throttled: LiveServer
) -> None:
    client = importlib.import_module(PACKAGE)
    module = module_of(generated, operation_id)
    caller = functools.partial(Caller, client, module)
    calls = CALLS[operation_id]
    first = next(iter(calls.values()))
    # The generic ones first: the 200 of a delete or cancel changes the world.
    attempts: list[tuple[int, Caller, Call]] = [
        (403, caller(f"{live_server.url}/api", anonymous=True), first),
        (406, caller(f"{live_server.url}/api", accept="text/html"), first),
        *((status, caller(f"{live_server.url}/api"), call) for status, call in calls.items()),
    ]
    if operation_id in PUBLIC:  # the 403 without credentials is its 200
        attempts = attempts[1:]
    first(caller(f"{throttled.url}/api"))  # the one request of the minute
    attempts.append((429, caller(f"{throttled.url}/api"), first))

    answers = {}
    for status, call_as, call in sorted(attempts, key=lambda a: a[0] in {200, 201}):
        response = call(call_as)
        answers[status] = (
            int(response.status_code),
            typed(response.parsed, answer_schema(operation_id, status)),
        )

    assert answers == {status: (status, True) for status, _, _ in attempts}
