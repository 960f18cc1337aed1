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
