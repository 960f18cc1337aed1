"""A world: everything a simulated deployment holds, as plain domain values.

:mod:`mockserver.worlds.document` reads and writes it as a world file (the format
``openapi/control/world.yaml`` describes); :mod:`mockserver.worlds.esdc_export` reads a
recording of a real deployment's stores into one; :func:`mockserver.worlds.install` puts one
into a store.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from mockserver.accounts import Dc, Token, User
from mockserver.lifecycle import Queue, Task
from mockserver.tasklog import LogEntry

DEFAULT_VERSION = "4.6"


@dataclass(frozen=True)
class WorldObject:
    """An object tasks act on, as it is now (its current name and alias)."""

    type: str
    pk: str
    name: str
    alias: str = ""
    owner_id: int | None = None
    dc_id: int | None = None


@dataclass(frozen=True)
class WorldSettings:
    """The deployment's settings that the task API shows."""

    version: str = DEFAULT_VERSION
    result_expires: int = 3600
    token_lifetime: int = 3600
    user_rate: str = "45/min"
    anon_rate: str = "30/min"


@dataclass(frozen=True)
class WorkerState:
    """Whether a queue's workers run, and since when they were stopped."""

    running: bool = True
    since: datetime | None = None


@dataclass(frozen=True)
class History:
    """Finished tasks made up on top of a world's own."""

    tasks: int = 0
    seed: int = 0
    span_seconds: float = 86400.0


@dataclass
class World:
    """A whole deployment's state at ``at``."""

    datacenters: list[Dc]
    users: list[User]
    objects: list[WorldObject] = field(default_factory=list)
    tokens: list[Token] = field(default_factory=list)
    tasks: list[Task] = field(default_factory=list)
    log: list[LogEntry] = field(default_factory=list)  # in write order
    settings: WorldSettings = field(default_factory=WorldSettings)
    workers: dict[Queue, WorkerState] = field(default_factory=dict)
    history: History = field(default_factory=History)
    at: datetime | None = None
    description: str = ""
    #: Write each task's own entries (its start, and its end if it ended) instead of a log of
    #: their own: a world file without a ``log``.
    derive_log: bool = False

    def worker(self, queue: Queue) -> WorkerState:
        return self.workers.get(queue, WorkerState())

    def dc_named(self, name: str) -> Dc | None:
        return next((dc for dc in self.datacenters if dc.name == name), None)

    def user_named(self, name: str) -> User | None:
        return next((user for user in self.users if user.username == name), None)
