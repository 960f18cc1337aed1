"""``x-permission`` applied by name (:func:`mockserver.permissions.require`), by direct calls
on the demo world."""

from __future__ import annotations

import pytest

from mockserver.deployment import Deployment
from mockserver.errors import PermissionDenied
from mockserver.permissions import require
from tests.mockserver.conftest import dc, user

PENDING = "3e3d1-e7a05c3b-9d42-4b6e-a1c8"  # alice's, in main
BOBS = "4e4d1-2c8e5f19-3a7d-4e62-9c01"


def allowed(deployment: Deployment, permission: str | None, who: str, task_id: str | None) -> bool:
    try:
        require(
            permission,
            user(deployment, who),
            dc_id=dc(deployment, "main").id,
            task_id=task_id,
            dc_ids=deployment.dcs,
        )
    except PermissionDenied:
        return False
    return True


@pytest.mark.parametrize(
    ("permission", "who", "task_id", "expected"),
    [
        ("UserTask", "alice", PENDING, True),
        ("UserTask", "bob", PENDING, False),
        ("UserTask", "bob", None, True),  # the task list: it chooses what is listed
        ("UserTask", "alice", "not-a-task-id", False),  # n=77: malformed ids are refused
        ("TaskCreator", "alice", PENDING, True),
        ("TaskCreator", "alice", BOBS, False),
        ("SuperAdmin", "admin", PENDING, True),
        ("SuperAdmin", "dcadmin", PENDING, False),  # n=344
        ("SuperAdmin", "admin", "not-a-task-id", False),  # n=349: IsUserTask too
        ("Admin", "dcadmin", None, True),
        ("Admin", "alice", None, False),  # n=296
        (None, "alice", None, True),
    ],
)
def test_each_named_permission_is_the_rule_real_deployments_apply(
    deployment: Deployment, permission: str | None, who: str, task_id: str | None, expected: bool
) -> None:
    assert allowed(deployment, permission, who, task_id) is expected


def test_an_unknown_permission_name_is_a_mistake_of_the_spec(deployment: Deployment) -> None:
    with pytest.raises(ValueError, match="Owner"):
        allowed(deployment, "Owner", "alice", PENDING)
