"""Users, datacenters and login tokens."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

#: A token lives this long from its login (AUTHTOKEN_DURATION), not sliding.
TOKEN_LIFETIME = timedelta(seconds=3600)
#: The id of Danube Cloud's system user, who runs automatic tasks.
SYSTEM_USER_ID = 7


@dataclass(frozen=True)
class Dc:
    """A datacenter."""

    id: int
    name: str
    is_default: bool = False


@dataclass(frozen=True)
class User:
    """A user account.

    :param is_staff: a SuperAdmin: admin everywhere, may delete tasks.
    :param dcs: the datacenters the user may work in.
    :param admin_dcs: the datacenters the user administers.
    """

    id: int
    username: str
    password: str
    api_key: str | None
    current_dc: int
    dcs: frozenset[int] = field(default_factory=frozenset)
    admin_dcs: frozenset[int] = field(default_factory=frozenset)
    is_staff: bool = False
    api_access: bool = True

    def is_admin(self, dc_id: int) -> bool:
        """Admin of the datacenter: a SuperAdmin, or an admin of that datacenter."""
        return self.is_staff or dc_id in self.admin_dcs

    def may_use(self, dc_id: int) -> bool:
        return self.is_staff or dc_id in self.dcs or dc_id in self.admin_dcs

    def __repr__(self) -> str:
        return f"User({self.username!r}, id={self.id})"


@dataclass(frozen=True)
class Token:
    key: str
    user_id: int
    created_at: datetime

    def expires_at(self) -> datetime:
        return self.created_at + TOKEN_LIFETIME

    def is_valid(self, now: datetime) -> bool:
        return now < self.expires_at()
