"""Named worlds: isolated copies of a world in one server, for parallel test workers.

The server's own world answers under ``/api/`` and ``/control/``; a named world ``w1`` under
``/w/w1/api/...`` and ``/w/w1/control/...``, so that a browser app needs only another base
URL. Each :class:`LiveWorld` has its own store, clock, deployment, throttles, kept answers,
request journal and fault rules; all of them share the spec, its router, the prepared
``Prefer`` answers and connexion (whose set-up costs most of a server's start).

A new world is a copy of a *template*: the server's world file built once into an in-memory
store, then copied with SQLite's backup API for each world (about a millisecond, and a few
hundred kilobytes for the demo world), its clock starting at the moment the template was
built for. A world made from a world document of its own is built from it (as
``PUT /control/world/`` would).
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from random import Random
from typing import TYPE_CHECKING, Any

from starlette.types import ASGIApp, Receive, Scope, Send

from mockserver.clock import ControlledClock
from mockserver.deployment import Deployment
from mockserver.errors import ApiError, NotFound
from mockserver.responses import json_response
from mockserver.store import Store
from mockserver.worlds.document import WorldError
from mockserver.worlds.install import install, read_world, world_from_doc
from mockserver.worlds.model import World

if TYPE_CHECKING:
    from mockserver.answers import AnswerCache
    from mockserver.control import Control
    from mockserver.dispatch import Operations
    from mockserver.faults import Faults
    from mockserver.handlers import Handlers
    from mockserver.journal import Journal
    from mockserver.throttle import Throttle

#: Where the pipeline and the control API find the world a request is for.
WORLD_KEY = "esdc.world"
#: The path prefix a request came under (``/w/name``), for the URLs an answer writes.
PREFIX_KEY = "esdc.prefix"
WORLDS_BASE = "/w/"
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
#: How many templates built at other moments (``at``) are kept.
TEMPLATES = 4


class WorldRefused(ApiError):
    """A world that cannot be made: its name is taken, or the server holds as many as it may."""

    status = HTTPStatus.CONFLICT


class BadWorld(ApiError):
    status = HTTPStatus.BAD_REQUEST


@dataclass
class LiveWorld:
    """One world a server answers for, with everything that is its own."""

    name: str | None  # None: the server's own world
    deployment: Deployment
    clock: ControlledClock
    handlers: Handlers
    control: Control
    operations: Operations
    throttles: tuple[Throttle, Throttle]
    answers: AnswerCache | None
    pipeline: ASGIApp
    journal: Journal
    faults: Faults
    created: datetime = field(default_factory=lambda: datetime.now(UTC))

    def __repr__(self) -> str:
        return f"LiveWorld({self.name!r}, {self.deployment!r})"

    @property
    def prefix(self) -> str:
        return "" if self.name is None else f"{WORLDS_BASE}{self.name}"


#: Makes a world's own parts around a deployment: the application's wiring passes it in.
WorldMaker = Callable[
    [str | None, Deployment, ControlledClock, Callable[[datetime], World]], LiveWorld
]


@dataclass
class Template:
    store: Store
    start: datetime
    seed: int


class WorldSet:
    """The server's own world and the named ones.

    :param default: the server's own world.
    :param make: builds a world's parts around a deployment.
    :param load: reads the server's world file for a moment (offsets count from it).
    :param start: the moment the server's world started at: a template's moment by default.
    :param limit: how many named worlds may exist at once.
    :param refuse: why named worlds cannot be made here (``--workers N``), or ``None``.
    """

    def __init__(
        self,
        default: LiveWorld,
        *,
        make: WorldMaker,
        load: Callable[[datetime], World],
        start: datetime,
        scale: float,
        history: int | None,
        seed: int | None,
        limit: int,
        refuse: str | None = None,
    ) -> None:
        self.default = default
        self.named: dict[str, LiveWorld] = {}
        self._make, self._load = make, load
        self.start, self.scale, self.history, self.seed = start, scale, history, seed
        self.limit, self.refuse = limit, refuse
        self._templates: OrderedDict[datetime, Template] = OrderedDict()
        self._lock = threading.Lock()
        #: The reloader serving this server, under ``--reload`` (:mod:`mockserver.reload`).
        self.reloader: Any = None

    def __repr__(self) -> str:
        return f"WorldSet({len(self.named)} named of at most {self.limit})"

    def get(self, name: str) -> LiveWorld | None:
        return self.named.get(name)

    def find(self, name: str) -> LiveWorld:
        world = self.named.get(name)
        if world is None:
            raise NotFound(
                f"No world {name!r}; GET /control/worlds/ lists them, POST /control/worlds/ "
                "makes one"
            )
        return world

    def _template(self, at: datetime) -> Template:
        """The server's world built for ``at``, once (kept while few moments are asked for)."""
        with self._lock:
            found = self._templates.get(at)
            if found is not None:
                self._templates.move_to_end(at)
                return found
        world = self._load(at)
        store = Store(":memory:")
        install(store, world, at, history_tasks=self.history, seed=self.seed)
        seed = world.history.seed if self.seed is None else self.seed
        template = Template(store, at, seed)
        with self._lock:
            self._templates[at] = template
            while len(self._templates) > TEMPLATES:
                self._templates.popitem(last=False)[1].store.close()
        return template

    def create(
        self,
        name: str,
        *,
        document: Any = None,
        at: datetime | None = None,
        scale: float | None = None,
    ) -> LiveWorld:
        """Make the world ``name``: a copy of the server's world as it started (or as it stands
        at ``at``), or the world ``document`` describes."""
        if self.refuse is not None:
            raise WorldRefused(self.refuse)
        if not NAME.match(name):
            raise BadWorld(
                f"name: {name!r} is not a world name: letters, digits, '.', '_' and '-', "
                "starting with a letter or digit, at most 63 characters"
            )
        with self._lock:
            if name in self.named:
                raise WorldRefused(
                    f"name: a world {name!r} exists already; DELETE /control/worlds/{name}/ "
                    "first, or pick another name"
                )
            if len(self.named) >= self.limit:
                raise WorldRefused(
                    f"the server holds {self.limit} worlds, as many as it may "
                    "(esdc-api serve --max-worlds); delete one first"
                )
        if document is None:
            template = self._template(at or self.start)
            store, start, seed = template.store.copy(), template.start, template.seed
            load = self._load
        else:
            base = at or self.start
            try:
                world = world_from_doc(document, base)
            except WorldError as exc:
                raise BadWorld(f"world: {exc}") from None
            start = at or world.at or base
            store = Store(":memory:")
            install(store, world, start)
            seed = world.history.seed

            def load(now: datetime) -> World:
                return world_from_doc(document, now)

        clock = ControlledClock(start, scale=self.scale if scale is None else scale)
        deployment = Deployment(store, clock, rng=Random(seed))
        live = self._make(name, deployment, clock, load)
        with self._lock:
            if name in self.named:  # made meanwhile by another request
                raise WorldRefused(f"name: a world {name!r} exists already")
            self.named[name] = live
        return live

    def delete(self, name: str) -> LiveWorld:
        with self._lock:
            world = self.named.pop(name, None)
        if world is None:
            self.find(name)  # raises
        assert world is not None
        # Its store is not closed: a request still answering in it finishes; the last
        # reference going closes the connection.
        return world

    def __iter__(self) -> Any:
        return iter(list(self.named.values()))


def template_loader(path: Any) -> Callable[[datetime], World]:
    """Reads the world file at ``path`` for a moment."""

    def load(at: datetime) -> World:
        return read_world(path, at)

    return load


class WorldRouter:
    """Sends ``/w/{name}/...`` to the named world with the prefix taken off the path, and the
    rest to the server's own world; what follows finds the world in the scope."""

    def __init__(self, app: ASGIApp, worlds: WorldSet) -> None:
        self.app, self.worlds = app, worlds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if not path.startswith(WORLDS_BASE):
            world = self.worlds.default
            scope[WORLD_KEY] = world
        else:
            name, slash, rest = path[len(WORLDS_BASE) :].partition("/")
            found = self.worlds.get(name)
            if found is None:
                detail = (
                    f"No world {name!r}; POST /control/worlds/ makes one, GET /control/worlds/ "
                    "lists them"
                )
                await json_response(HTTPStatus.NOT_FOUND, {"detail": detail})(scope, receive, send)
                return
            world = found
            prefix = f"{WORLDS_BASE}{name}"
            scope = {
                **scope,
                "path": slash + rest if slash else "/",
                "root_path": scope.get("root_path", "") + prefix,
                PREFIX_KEY: prefix,
                WORLD_KEY: world,
            }
        world.deployment.sync()  # what other processes on the same database changed
        await self.app(scope, receive, send)


class ByWorld:
    """Calls the pipeline of the world the request is for."""

    def __init__(self, fallback: ASGIApp) -> None:
        self.fallback = fallback

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        world = scope.get(WORLD_KEY)
        if world is None:
            await self.fallback(scope, receive, send)
        else:
            await world.pipeline(scope, receive, send)


class Rejoined:
    """Connexion routes by Starlette's rule, which reads the root path off the front of the
    path: a named world's prefix goes back in front of the path for it, as ASGI servers pass
    a mounted application's paths."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        prefix = scope.get(PREFIX_KEY)
        if prefix:
            scope = {**scope, "path": prefix + scope["path"]}
        await self.app(scope, receive, send)
