"""Task ids: ``<creator><type><owner><group><dc>-<8>-<4>-<4>-<4>``, as Danube Cloud makes them.

The prefix holds the creator's user id, the task type letter, the owner's user id (the owner of
the object the task acts on), the task group letter and the datacenter id. The suffix is the
first 23 characters of a UUID4. A *dummy* id, given to synchronous calls, replaces the first
group of the suffix with the last 8 hex digits of the MD5 of the creator's id.
"""

from __future__ import annotations

import enum
import functools
import hashlib
import re
import uuid
from dataclasses import dataclass
from random import Random

SUFFIX_LENGTH = 24  # "-" + 8 + "-" + 4 + "-" + 4 + "-" + 4
_PREFIX = re.compile(r"^([0-9]+)([a-z]+)([0-9]+)([a-z]+)([0-9]+)$")


class TaskType(enum.StrEnum):
    """The task type letter; the order is the one ``task_type`` numbers use."""

    DUMMY = "d"
    EXEC = "e"
    AUTO = "a"
    MGMT = "m"
    INTERNAL = "i"
    ERROR = "f"


class TaskGroup(enum.StrEnum):
    DC_BOUND = "d"
    DC_UNBOUND = "u"


_TYPES = list(TaskType)
_GROUPS = list(TaskGroup)


@dataclass(frozen=True)
class TaskId:
    """A parsed task id."""

    creator: int
    type: TaskType
    owner: int
    group: TaskGroup
    dc: int
    suffix: str  # "-xxxxxxxx-xxxx-xxxx-xxxx"
    #: The prefix's numbers as written: real deployments compare them as strings, so
    #: ``09e9d1-...`` was not created by user 9 (but its owner is 9).
    creator_text: str = ""
    owner_text: str = ""
    dc_text: str = ""

    def __str__(self) -> str:
        creator = self.creator_text or str(self.creator)
        owner = self.owner_text or str(self.owner)
        dc = self.dc_text or str(self.dc)
        return f"{creator}{self.type}{owner}{self.group}{dc}{self.suffix}"

    @property
    def is_dummy(self) -> bool:
        return self.suffix[1:9] == dummy_group(self.creator_text or str(self.creator))

    def created_by(self, user_id: int) -> bool:
        return (self.creator_text or str(self.creator)) == str(user_id)

    def owned_by(self, user_id: int) -> bool:
        return (self.owner_text or str(self.owner)) == str(user_id)

    @property
    def log_type(self) -> int:
        """The ``task_type`` number of the task log: group index * 100 + type index."""
        return _GROUPS.index(self.group) * 100 + _TYPES.index(self.type)


def dummy_group(user_id: int | str) -> str:
    """The dummy id's first group: the last 8 hex digits of the MD5 of the creator's id as
    the id writes it."""
    return hashlib.md5(str(user_id).encode()).hexdigest()[-8:]


@functools.lru_cache(maxsize=4096)  # every request about a task parses its id (frozen)
def parse(task_id: str) -> TaskId | None:
    """Parse ``task_id``, or return ``None`` if a real deployment would reject it.

    As on real deployments the suffix groups' lengths are checked, not that they are hex.
    """
    parts = task_id.split("-")
    if len(parts) != 5 or [len(p) for p in parts[1:]] != [8, 4, 4, 4]:
        return None
    if not all(p.isascii() and p.isalnum() for p in parts[1:]):
        return None
    match = _PREFIX.match(parts[0])
    if match is None:
        return None
    creator, type_letter, owner, group_letter, dc = match.groups()
    if type_letter not in TaskType._value2member_map_:
        return None
    if group_letter not in TaskGroup._value2member_map_:
        return None
    return TaskId(
        creator=int(creator),
        type=TaskType(type_letter),
        owner=int(owner),
        group=TaskGroup(group_letter),
        dc=int(dc),
        suffix=task_id[len(parts[0]) :],
        creator_text=creator,
        owner_text=owner,
        dc_text=dc,
    )


def new_task_id(
    creator: int,
    owner: int,
    dc: int,
    *,
    type: TaskType = TaskType.EXEC,
    group: TaskGroup = TaskGroup.DC_BOUND,
    rng: Random | None = None,
    dummy: bool = False,
) -> TaskId:
    """A fresh task id; with ``rng`` the id is reproducible."""
    raw = uuid.UUID(int=rng.getrandbits(128), version=4) if rng else uuid.uuid4()
    suffix = "-" + str(raw)[:23]
    if dummy:
        suffix = "-" + dummy_group(creator) + suffix[9:]
    return TaskId(creator, type, owner, group, dc, suffix, str(creator), str(owner), str(dc))
