"""Who may do what with a task, as Danube Cloud's permission classes decide.

- **UserTask** (details, status, done): an admin of the task's datacenter, the task's creator,
  or the owner of the object the task acts on.
- **TaskCreator** (cancel): an admin of the task's datacenter, or the task's creator; the
  object's owner is not enough.
- **SuperAdmin** (delete).
- **Admin** (log statistics): an admin of the current datacenter.

A task id that does not parse, or names a datacenter that does not exist, is refused like a
foreign one: real deployments answer both with 403 "Permission denied".
"""

from __future__ import annotations

from collections.abc import Collection

from mockserver.accounts import User
from mockserver.errors import PermissionDenied
from mockserver.ids import TaskId
from mockserver.ids import parse as parse_task_id


def _checked_id(task_id: str, dc_ids: Collection[int]) -> TaskId:
    tid = parse_task_id(task_id)
    if tid is None or tid.dc not in dc_ids:
        raise PermissionDenied()
    return tid


def require_user_task(user: User, task_id: str, dc_ids: Collection[int]) -> TaskId:
    """UserTask: return the parsed id, or raise :class:`PermissionDenied`."""
    tid = _checked_id(task_id, dc_ids)
    if user.is_admin(tid.dc) or user.id in (tid.creator, tid.owner):
        return tid
    raise PermissionDenied()


def require_task_creator(user: User, task_id: str, dc_ids: Collection[int]) -> TaskId:
    """TaskCreator: return the parsed id, or raise :class:`PermissionDenied`."""
    tid = _checked_id(task_id, dc_ids)
    if user.is_admin(tid.dc) or user.id == tid.creator:
        return tid
    raise PermissionDenied()


def require_superadmin(user: User) -> None:
    if not user.is_staff:
        raise PermissionDenied()


def require_admin(user: User, dc_id: int) -> None:
    if not user.is_admin(dc_id):
        raise PermissionDenied()


def require(
    permission: str | None,
    user: User,
    *,
    dc_id: int,
    task_id: str | None,
    dc_ids: Collection[int],
) -> None:
    """Apply an operation's ``x-permission`` before anything of the request is validated, as
    real deployments run their permission classes right after resolving the datacenter.

    :param permission: ``UserTask``, ``TaskCreator``, ``SuperAdmin``, ``Admin``, or ``None``
        for none.
    :param dc_id: the datacenter the request runs in (``Admin`` is about it).
    :param task_id: the task id of the URL, if it has one. A task permission without one (the
        task list) is no check: it chooses what is listed instead. With ``SuperAdmin`` the id
        must still name a task the caller could see (``DELETE`` runs both checks).
    :raises PermissionDenied: the caller may not.
    """
    if permission == "Admin":
        require_admin(user, dc_id)
    elif permission == "SuperAdmin":
        require_superadmin(user)
        if task_id is not None:
            require_user_task(user, task_id, dc_ids)
    elif permission == "UserTask" and task_id is not None:
        require_user_task(user, task_id, dc_ids)
    elif permission == "TaskCreator" and task_id is not None:
        require_task_creator(user, task_id, dc_ids)
    elif permission not in (None, "UserTask", "TaskCreator"):
        raise ValueError(f"unknown x-permission {permission!r}")
