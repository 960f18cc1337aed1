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
    """A datacenter.

    :param public: every user may use it (Danube Cloud's PUBLIC access); a private one only its
        members, its owner and SuperAdmins.
    :param owner_id: its owner, who counts as its admin.
    """

    id: int
    name: str
    is_default: bool = False
    public: bool = False
    owner_id: int | None = None
    alias: str = ""
    desc: str = ""


@dataclass(frozen=True)
class User:
    """A user account.

    :param password: ``None`` for an account that cannot log in with a password.
    :param is_staff: a SuperAdmin: admin everywhere, may delete tasks.
    :param dcs: the datacenters the user has a role in.
    :param admin_dcs: the datacenters the user administers (the ones it owns among them).
    :param is_active: an inactive account is refused everywhere.
    """

    id: int
    username: str
    password: str | None
    api_key: str | None
    current_dc: int
    dcs: frozenset[int] = field(default_factory=frozenset)
    admin_dcs: frozenset[int] = field(default_factory=frozenset)
    is_staff: bool = False
    api_access: bool = True
    is_active: bool = True

    def is_admin(self, dc_id: int) -> bool:
        """Admin of the datacenter: a SuperAdmin, or an admin (or the owner) of it."""
        return self.is_staff or dc_id in self.admin_dcs

    def may_use(self, dc: Dc) -> bool:
        """Whether the user may work in ``dc``: a SuperAdmin, a public datacenter, the user's
        current one, or one the user owns or has a role in."""
        return (
            self.is_staff
            or dc.public
            or dc.id == self.current_dc
            or dc.id in self.dcs
            or dc.id in self.admin_dcs
        )

    def __repr__(self) -> str:
        return f"User({self.username!r}, id={self.id})"


@dataclass(frozen=True)
class Token:
    key: str
    user_id: int
    created_at: datetime

    def expires_at(self, lifetime: timedelta = TOKEN_LIFETIME) -> datetime:
        return self.created_at + lifetime

    def is_valid(self, now: datetime, lifetime: timedelta = TOKEN_LIFETIME) -> bool:
        return now < self.expires_at(lifetime)
