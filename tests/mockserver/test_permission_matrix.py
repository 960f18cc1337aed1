"""Every demo account, anonymous and a wrong key, against every operation, over HTTP.

The expected statuses follow the permission rules of real deployments (UserTask, TaskCreator,
SuperAdmin, Admin; see mockserver/permissions.py) applied to the demo world: the tasks are
alice's unless said otherwise, in datacenter main; labadmin works in datacenter lab.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from esdc_api.spec import load_spec
from mockserver import create_app
from tests.conftest import KEYS, LiveServer, frozen_settings, serve_in_thread

CALLERS = ("admin", "dcadmin", "alice", "bob", "labadmin", "anonymous", "wrong key")
PENDING = "3e3d1-e7a05c3b-9d42-4b6e-a1c8"
STARTED = "3e3d1-4b1d9e06-2c7a-4f83-8e15"
SUCCEEDED = "3e3d1-8c2f4a17-5b3e-4d21-a9f0"
FAILED = "3e3d1-5d9c2e81-6f0b-4a37-bd94"
BOBS = "4e4d1-2c8e5f19-3a7d-4e62-9c01"

#: operationId -> (method, path, body, expected status per caller, in CALLERS order)
READS = {
    "taskList": ("GET", "/api/task/", None, (200, 200, 200, 200, 200, 403, 403)),
    "taskDetails": ("GET", f"/api/task/{PENDING}/", None, (200, 200, 200, 403, 403, 403, 403)),
    "taskStatus": (
        "GET",
        f"/api/task/{SUCCEEDED}/status/",
        None,
        (200, 200, 200, 403, 403, 403, 403),
    ),
    "taskState": ("GET", f"/api/task/{STARTED}/state/", None, (201, 201, 201, 403, 403, 403, 403)),
    "taskDone": ("GET", f"/api/task/{FAILED}/done/", None, (400, 400, 400, 403, 403, 403, 403)),
    "taskLog": ("GET", "/api/task/log/?page=1", None, (200, 200, 200, 200, 200, 403, 403)),
    "taskLogStats": ("GET", "/api/task/log/stats/", None, (200, 200, 403, 403, 200, 403, 403)),
    "login": (
        "POST",
        "/api/accounts/login/",
        {"username": "alice", "password": "x"},
        (400, 400, 400, 400, 400, 400, 403),
    ),
    "logout": ("GET", "/api/accounts/logout/", None, (200, 200, 200, 200, 200, 403, 403)),
}
#: OPTIONS needs the credentials the endpoint needs and nothing else (n=30, 31, 173-176): the
#: permission and the task id are not looked at.
_ANY_ACCOUNT = (200, 200, 200, 200, 200, 403, 403)
READS |= {
    "describeTaskList": ("OPTIONS", "/api/task/", None, _ANY_ACCOUNT),
    "describeTaskDetails": ("OPTIONS", f"/api/task/{BOBS}/", None, _ANY_ACCOUNT),
    "describeTaskStatus": ("OPTIONS", "/api/task/not-a-task-id/status/", None, _ANY_ACCOUNT),
    "describeTaskState": ("OPTIONS", f"/api/task/{BOBS}/state/", None, _ANY_ACCOUNT),
    "describeTaskDone": ("OPTIONS", f"/api/task/{BOBS}/done/", None, _ANY_ACCOUNT),
    "describeTaskCancel": ("OPTIONS", f"/api/task/{BOBS}/cancel/", None, _ANY_ACCOUNT),
    "describeTaskLog": ("OPTIONS", "/api/task/log/", None, _ANY_ACCOUNT),
    "describeTaskLogStats": ("OPTIONS", "/api/task/log/stats/", None, _ANY_ACCOUNT),
    "describeLogin": ("OPTIONS", "/api/accounts/login/", None, (200,) * 6 + (403,)),
    "describeLogout": ("OPTIONS", "/api/accounts/logout/", None, _ANY_ACCOUNT),
    "describePing": ("OPTIONS", "/api/ping/", None, (200,) * 6 + (403,)),
    "ping": ("GET", "/api/ping/", None, (200,) * 6 + (403,)),  # n=530, 531
}
#: Operations that change a task: each case gets a fresh server.
WRITES = {
    "taskCancel": ("PUT", f"/api/task/{BOBS}/cancel/", None, (410, 410, 403, 410, 403, 403, 403)),
    "taskDelete": (
        "DELETE",
        f"/api/task/{BOBS}/",
        {"force": True},
        (200, 403, 403, 403, 403, 403, 403),
    ),
}


def headers_of(caller: str) -> dict[str, str]:
    if caller == "anonymous":
        return {}
    if caller == "wrong key":
        return {"ES-API-KEY": "demo-mallory-key"}
    return {"ES-API-KEY": KEYS[caller]}


def cases(table: dict[str, tuple[str, str, object, tuple[int, ...]]]) -> Iterator[object]:
    for operation, (method, path, body, statuses) in table.items():
        for caller, status in zip(CALLERS, statuses, strict=True):
            yield pytest.param(method, path, body, caller, status, id=f"{operation}-{caller}")


def test_the_matrix_covers_every_operation_of_the_spec() -> None:
    spec_operations = {
        op["operationId"]
        for item in load_spec()["paths"].values()
        for op in item.values()
        if isinstance(op, dict) and "operationId" in op
    }
    assert set(READS) | set(WRITES) == spec_operations


@pytest.fixture(scope="module")
def shared_server() -> Iterator[LiveServer]:
    yield from serve_in_thread(create_app(frozen_settings()))


@pytest.mark.parametrize(("method", "path", "body", "caller", "status"), cases(READS))
def test_reads(
    shared_server: LiveServer, method: str, path: str, body: object, caller: str, status: int
) -> None:
    with shared_server.client() as client:
        response = client.request(method, path, json=body, headers=headers_of(caller))
    assert response.status_code == status, response.text


@pytest.mark.parametrize(("method", "path", "body", "caller", "status"), cases(WRITES))
def test_writes(
    live_server: LiveServer, method: str, path: str, body: object, caller: str, status: int
) -> None:
    with live_server.client() as client:
        response = client.request(method, path, json=body, headers=headers_of(caller))
        state = client.get(f"/api/task/{BOBS}/status/", headers=headers_of("admin")).json()[
            "status"
        ]
    assert response.status_code == status, response.text
    # A cancel terminates the task; a delete only revokes it, which a running task survives.
    assert state == ("REVOKED" if status == 410 else "STARTED")
