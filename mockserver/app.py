"""Wiring: the deployment, connexion with the spec, the pipeline, CORS (off unless asked for)
and the control API.

The spec comes in two forms (:mod:`esdc_api.spec`): the router, the operations and connexion's
validation read the resolved one; ``/api/openapi.json`` and ``/control/openapi.json`` serve
the bundles, whose shared definitions stay under ``components/`` for code generators and
Swagger UI's Schemas section.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from http import HTTPStatus
from random import Random
from typing import Any

import connexion
import yaml
from connexion.exceptions import ProblemException, problem
from connexion.lifecycle import ConnexionRequest, ConnexionResponse
from connexion.middleware.context import ContextMiddleware
from connexion.middleware.exceptions import ExceptionMiddleware
from connexion.middleware.lifespan import LifespanMiddleware
from connexion.middleware.request_validation import RequestValidationMiddleware
from connexion.middleware.response_validation import ResponseValidationMiddleware
from connexion.middleware.routing import RoutingMiddleware
from connexion.middleware.server_error import ServerErrorMiddleware
from connexion.middleware.swagger_ui import SwaggerUIMiddleware
from connexion.options import SwaggerUIOptions
from connexion.resolver import Resolver
from starlette.exceptions import HTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from esdc_api.bundler import dereference
from esdc_api.rates import Rate
from esdc_api.spec import CONTROL_SPEC_ROOT, Spec, load_bundle
from esdc_api.spec import operations as spec_operations
from mockserver.answers import AnswerCache
from mockserver.bodies import CONTROL_VALIDATOR_MAP, VALIDATOR_MAP
from mockserver.checked import check_spec, skip_connexion_rechecks
from mockserver.clock import EARLIEST, ControlledClock
from mockserver.control import Control
from mockserver.control import error_body as control_error_body
from mockserver.deployment import Deployment
from mockserver.dispatch import Caller, Operations, connexion_views
from mockserver.errors import ApiError
from mockserver.faults import Faults
from mockserver.guard import CONTROL_HEADER, AllowedHosts, Guard, is_control_path
from mockserver.handlers import Handlers
from mockserver.holds import SERVER_SEND_KEY
from mockserver.i18n import ENGLISH, translate_body
from mockserver.journal import Journal
from mockserver.limits import BodyLimit
from mockserver.middleware import CALLER_KEY, ApiPipeline, http_date_bytes
from mockserver.negotiation import indent_of
from mockserver.prefer import PreferTable
from mockserver.progress import Progress
from mockserver.responses import dumps
from mockserver.routing import Router
from mockserver.settings import Settings
from mockserver.site import DocsSite, SiteRoot
from mockserver.store import Store
from mockserver.throttle import Throttle
from mockserver.worlds import DEMO_WORLD
from mockserver.worlds.document import WorldError
from mockserver.worlds.install import install, read_world
from mockserver.worlds.model import World
from mockserver.worldset import (
    WORLD_KEY,
    ByWorld,
    LiveWorld,
    Rejoined,
    WorldRouter,
    WorldSet,
    template_loader,
)

API_BASE = "/api"
CONTROL_BASE = "/control"
#: How many answers a named world keeps (the server's own world keeps 512).
NAMED_WORLD_ANSWERS = 128
log = logging.getLogger("mockserver")
#: Each API's Swagger UI at <base>/ui/, reading the spec at <base>/openapi.json.
SWAGGER_UI = SwaggerUIOptions(swagger_ui_path="/ui", spec_path="/openapi.json")


def ui_frame(spec: Spec) -> Spec:
    """What connexion needs of an API to serve its Swagger UI: the OpenAPI version (which UI)
    and ``info``, no operations. The page reads the spec itself from ``openapi.json``, which
    :class:`SpecDocuments` serves whole."""
    return {"openapi": spec["openapi"], "info": spec["info"], "paths": {}}


def _api_error(request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
    """Domain errors under connexion: in the control API's shape there
    (:func:`mockserver.control.error_body`), and, when connexion calls the task API's
    handlers, in the real API's, as :func:`mockserver.responses.error_response`."""
    assert isinstance(exc, ApiError)
    caller = request.scope.get(CALLER_KEY)
    language = ENGLISH
    if isinstance(caller, Caller):
        language = caller.language
        caller.plain = caller.plain or exc.plain
    body = (
        control_error_body(exc)
        if is_control_path(request.scope.get("path", ""))
        else translate_body(exc.body(), language)
    )
    return ConnexionResponse(
        status_code=int(exc.status),
        mimetype="application/json",
        content_type="application/json",
        body=dumps(body, indent_of(request.headers.get("accept"))),
        headers=exc.headers(),
    )


def _http_error(request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
    """A URL outside the APIs (404) and the like: connexion's answer, without the line its own
    handler logs for every one. Under the control API, in its shape."""
    assert isinstance(exc, HTTPException)
    if is_control_path(request.scope.get("path", "")):
        return ConnexionResponse(
            status_code=exc.status_code,
            mimetype="application/json",
            content_type="application/json",
            body=dumps({"detail": str(exc.detail)}),
            headers=exc.headers,
        )
    return problem(
        title=HTTPStatus(exc.status_code).phrase,
        detail=exc.detail,
        status=exc.status_code,
        headers=exc.headers,
    )


def _problem(request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
    """Connexion's own refusals (a required body missing, a media type it does not take): in
    the control API's shape there, as problem+json elsewhere, as connexion answers them."""
    assert isinstance(exc, ProblemException)
    if exc.status_code >= HTTPStatus.INTERNAL_SERVER_ERROR:
        log.error("%r", exc)
    if is_control_path(request.scope.get("path", "")):
        return _http_error(request, exc)
    return exc.to_problem()


def _server_error(request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
    log.error("unhandled error on %s %s", request.method, request.url, exc_info=exc)
    return ConnexionResponse(
        status_code=500,
        mimetype="application/json",
        content_type="application/json",
        body=b"Server Error",
    )


def dated(send: Send) -> Send:
    """``send`` giving an answer that has no ``Date`` the real time. The server dates its own
    answers (uvicorn runs it with ``date_header=False``): ``/api`` answers by the deployment's
    clock (:func:`mockserver.middleware.localized`), everything else by real time."""

    async def send_dated(message: Message) -> None:
        if message["type"] == "http.response.start":
            raw = message.get("headers", [])
            # The pipeline's answers end with their Date (mockserver.middleware.deliver).
            if not (raw and raw[-1][0] == b"date") and not any(
                name.lower() == b"date" for name, _ in raw
            ):
                raw = [*raw, (b"date", http_date_bytes(datetime.now(UTC)))]
                message = {**message, "headers": raw}
        await send(message)

    return send_dated


class ReferenceServer:
    """The reference server as an ASGI application, with its own world's deployment, clock and
    operations (the rules each request is checked by) at hand for tests, and its named worlds."""

    def __init__(
        self,
        asgi: ASGIApp,
        deployment: Deployment,
        clock: ControlledClock,
        settings: Settings,
        answers: AnswerCache | None = None,
        operations: Operations | None = None,
        worlds: WorldSet | None = None,
    ) -> None:
        self.asgi = asgi
        self.deployment = deployment
        self.clock = clock
        self.settings = settings
        self.answers = answers
        self.operations = operations
        self.worlds = worlds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope[SERVER_SEND_KEY] = send  # the server's own, for a fault that drops the connection
        if scope["type"] == "http":
            send = dated(send)
        await self.asgi(scope, receive, send)

    def __repr__(self) -> str:
        return f"ReferenceServer({self.deployment!r})"


def build_deployment(
    settings: Settings, say: Callable[[str], None] = log.info
) -> tuple[Deployment, ControlledClock]:
    """The deployment the settings describe: the world file's (the demo world by default) if
    the store is empty, built saying how it goes when that takes more than a second."""
    store = Store(settings.db, check=not settings.attach)  # its parent checked it
    if store.dcs():
        # A reused file keeps its tasks at their absolute times and its clock where it was
        # (and as far on as it would have run since): those running when the server stopped
        # have ended since, and log their end on the first call. New ids must not repeat the
        # previous run's, so they are not seeded.
        clock = ControlledClock(scale=settings.scale or 0)
        deployment = Deployment(store, clock, rng=Random())  # attached: the world's clock
        if not settings.attach:
            clock.restore(_reused_clock(store, settings).state())
            deployment.share_clock()
        return deployment, clock
    base = settings.start or datetime.now(UTC)
    world = read_world(settings.world or DEMO_WORLD, base)
    start = settings.start or world.at or base
    try:
        clock = ControlledClock(start, scale=1.0 if settings.scale is None else settings.scale)
    except ValueError as exc:
        if settings.start is not None:
            raise
        raise WorldError(f"{settings.world or DEMO_WORLD}: at: {exc}") from None
    progress = Progress(say, "building the world")
    install(
        store,
        world,
        clock.now(),
        history_tasks=settings.history,
        seed=settings.seed,
        steps=progress,
    )
    progress.finish()
    seed = world.history.seed if settings.seed is None else settings.seed
    return Deployment(store, clock, rng=Random(seed)), clock


def _reused_clock(store: Store, settings: Settings) -> ControlledClock:
    """The clock of a world a previous server left in ``store``: as it left it unless
    ``--at`` says otherwise, at its own speed unless ``--scale`` does."""
    saved = store.get_meta("clock")
    state = json.loads(saved) if saved else None
    if settings.start is not None or state is None:
        scale = settings.scale
        if scale is None:
            scale = float(state["scale"]) if state else 1.0
        start = settings.start or max(datetime.now(UTC), store.latest_entry_time() or EARLIEST)
        return ControlledClock(start, scale=scale)
    return ControlledClock.resume(state, scale=settings.scale, not_before=store.latest_entry_time())


def create_app(
    settings: Settings | None = None,
    *,
    spec: dict[str, Any] | None = None,
    say: Callable[[str], None] = log.info,
) -> ReferenceServer:
    """The reference server for ``settings``.

    :param spec: the task API spec, bundled or resolved; it is served as it is. By default the
        project's bundle (or that of ``settings.spec_path``).
    :param say: where a world build that takes more than a second says how it goes (the
        console, for ``esdc-api serve``).
    """
    settings = settings or Settings()
    skip_connexion_rechecks()  # the same spec passed on an earlier start
    served = spec if spec is not None else load_bundle(settings.spec_path)
    control_served = load_bundle(CONTROL_SPEC_ROOT)
    spec = dereference(served)
    # Starlette tries routes in order: literal paths (/task/log/) must come before the
    # templated ones that would also match them (/task/{task_id}/).
    spec = {**spec, "paths": dict(sorted(spec["paths"].items(), key=lambda item: "{" in item[0]))}
    deployment, clock = build_deployment(settings, say)
    world_file = settings.world or DEMO_WORLD
    handlers = Handlers(deployment)
    control = Control(deployment, clock, settings=settings, say=say)

    middlewares: list[Any] = [
        ServerErrorMiddleware,
        ExceptionMiddleware,
        SwaggerUIMiddleware,
        RoutingMiddleware,
        RequestValidationMiddleware,
        *([ResponseValidationMiddleware] if settings.validate_responses else []),
        LifespanMiddleware,
        ContextMiddleware,
    ]
    app = connexion.AsyncApp(__name__, middlewares=middlewares)
    if settings.validate_responses:
        app.add_api(
            spec,
            base_path=API_BASE,
            resolver=Resolver(connexion_views(spec, handlers, CALLER_KEY, _world_handlers)),
            validator_map=VALIDATOR_MAP,
            validate_responses=True,
            swagger_ui_options=SWAGGER_UI,
        )
    else:
        # The pipeline serves every operation, and connexion only Swagger UI under /api/ui/
        # (the pipeline's passthrough): it gets the spec's frame, without the operations,
        # whose set-up (copies of the resolved spec, routes, validators) was about a tenth
        # of the start. The spec is still checked as connexion checks what it is given.
        check_spec(spec)
        app.add_api(ui_frame(spec), base_path=API_BASE, swagger_ui_options=SWAGGER_UI)
    if settings.control:
        app.add_api(
            control_served,  # with its $refs: connexion resolves them, sharing what they point at
            base_path=CONTROL_BASE,
            resolver=Resolver(control.resolve_per_world),
            validator_map=CONTROL_VALIDATOR_MAP,
            swagger_ui_options=SWAGGER_UI,
        )
    app.add_error_handler(ApiError, _api_error)
    app.add_error_handler(HTTPException, _http_error)
    app.add_error_handler(ProblemException, _problem)
    app.add_error_handler(Exception, _server_error)
    parts = _WorldParts(Rejoined(app), settings, spec, Router(spec, API_BASE))
    own = parts.make(None, deployment, clock, template_loader(world_file), handlers, control)
    worlds = WorldSet(
        own,
        make=parts.make,
        load=template_loader(world_file),
        start=clock.now(),
        scale=clock.scale,  # the own world's (a reused --db file keeps its own)
        history=settings.history,
        seed=settings.seed,
        limit=settings.max_worlds,
        refuse=(
            f"named worlds live in one process's memory, and {settings.workers} processes serve "
            "this server (--workers): start one without --workers for them"
            if settings.workers > 1 or settings.attach
            else None
        ),
    )
    parts.worlds = control.worlds = worlds
    asgi: ASGIApp = ByWorld(own.pipeline)
    documents = {API_BASE: served, **({CONTROL_BASE: control_served} if settings.control else {})}
    asgi = SpecDocuments(asgi, documents)
    asgi = SiteRoot(asgi, location=f"{API_BASE}/ui/")
    if settings.docs_dir is not None:
        asgi = DocsSite(asgi, directory=settings.docs_dir)
    if settings.cors_origins:
        asgi = _Only(
            asgi,
            CORSMiddleware(
                asgi,
                allow_origins=list(settings.cors_origins),
                allow_methods=["GET", "POST", "PUT", "DELETE", "OPTIONS"],
                allow_headers=[
                    "ES-API-KEY",
                    "Authorization",
                    "Content-Type",
                    "Accept",
                    "Accept-Language",
                    "ES-STREAM",
                ],
                expose_headers=[
                    "es_version",
                    "es_username",
                    "es_dc",
                    "es_task_response",
                    "Retry-After",
                    "Content-Language",
                ],
                max_age=600,
            ),
            lambda path: path == API_BASE or path.startswith(API_BASE + "/"),
        )
    if settings.control_cors_origins:
        asgi = _Only(
            asgi,
            CORSMiddleware(
                asgi,
                allow_origins=list(settings.control_cors_origins),
                allow_methods=["GET", "POST", "PUT", "DELETE", "OPTIONS"],
                allow_headers=["Content-Type", "Accept", CONTROL_HEADER],
                max_age=600,
            ),
            is_control_path,
        )
    asgi = WorldRouter(asgi, worlds)
    asgi = BodyLimit(asgi, settings.max_body_size)
    asgi = Guard(
        asgi,
        hosts=AllowedHosts.for_server(
            settings.host, settings.allowed_hosts, in_process=settings.allowed_hosts is None
        ),
        control=settings.control,
        token=settings.control_token,
        cors_origins=settings.control_cors_origins,
    )
    return ReferenceServer(asgi, deployment, clock, settings, own.answers, own.operations, worlds)


# -- what each world has of its own (the server's and the named ones: mockserver/worldset.py) --


def _world_handlers(scope: Scope) -> object:
    """The handlers of the world a request is for, when connexion calls them."""
    world = scope.get(WORLD_KEY)
    return None if world is None else world.handlers


class _WorldParts:
    """Builds the parts a world has of its own around its deployment: handlers, control,
    throttles, kept answers, operations and the pipeline; all share the spec, its router and
    connexion (``app``)."""

    def __init__(
        self, app: ASGIApp, settings: Settings, spec: dict[str, Any], router: Router
    ) -> None:
        self.app, self.settings, self.spec, self.router = app, settings, spec, router
        self.version = str(spec["info"]["version"])
        self.operation_ids = tuple(
            op["operationId"] for _path, method, op in spec_operations(spec) if method != "options"
        )
        self.prefer = PreferTable.from_spec(spec)
        self.worlds: WorldSet | None = None

    def make(
        self,
        name: str | None,
        deployment: Deployment,
        clock: ControlledClock,
        load: Callable[[datetime], World],
        handlers: Handlers | None = None,
        control: Control | None = None,
    ) -> LiveWorld:
        settings = self.settings
        handlers = handlers or Handlers(deployment)
        control = control or Control(deployment, clock, settings=settings, load=load)
        control.worlds = self.worlds
        answers = (
            AnswerCache(
                lambda: deployment.store.writes,
                deployment.now,
                size=512 if name is None else NAMED_WORLD_ANSWERS,
            )
            if settings.cache and not settings.validate_responses
            else None
        )
        throttles = (
            Throttle(Rate.parse(settings.user_rate), enabled=settings.throttle),
            Throttle(Rate.parse(settings.anon_rate), enabled=settings.throttle),
        )
        control.throttles = throttles
        operations = Operations(self.spec, handlers, answers)
        control.journal = journal = Journal(settings.journal_size)
        control.faults = faults = Faults(deployment)
        control.operation_ids = self.operation_ids
        pipeline = ApiPipeline(
            self.app,
            deployment=deployment,
            router=self.router,
            version=self.version,
            user_throttle=throttles[0],
            anon_throttle=throttles[1],
            operations=operations,
            # Checking answers against the spec is connexion's job: then it validates and
            # calls the handlers too. Otherwise the pipeline calls them itself, a lot faster.
            via_connexion=settings.validate_responses,
            passthrough=(f"{API_BASE}/ui",),
            journal=journal,
            faults=faults,
            prefer=self.prefer,
        )
        return LiveWorld(
            name,
            deployment,
            clock,
            handlers,
            control,
            operations,
            throttles,
            answers,
            pipeline,
            journal,
            faults,
        )


class _Only:
    """``wrapped`` for the paths ``applies`` to, ``app`` for the rest: CORS, when asked for,
    is for the task API, or for the control API, each on its own."""

    def __init__(self, app: ASGIApp, wrapped: ASGIApp, applies: Callable[[str], bool]) -> None:
        self.app, self.wrapped, self.applies = app, wrapped, applies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.applies(scope.get("path", "")):
            await self.wrapped(scope, receive, send)
        else:
            await self.app(scope, receive, send)


class SpecDocuments:
    """Serves each API's spec as given, at ``<base>/openapi.json`` and ``<base>/openapi.yaml``.

    Connexion would serve its resolved copy. As connexion does, ``servers`` is the one URL the
    API is at on this server, so that Swagger UI calls this server whatever its port.
    """

    def __init__(self, app: ASGIApp, specs: dict[str, Spec]) -> None:
        self.app, self.specs = app, specs
        self._bodies: dict[tuple[str, str], bytes] = {}

    def body(self, url: str, fmt: str) -> bytes:
        """The spec at ``url`` (the API's base URL with the server's root path) as ``fmt``."""
        if (url, fmt) not in self._bodies:
            base = next(base for base in self.specs if url.endswith(base))
            document = {**self.specs[base], "servers": [{"url": url}]}
            if fmt == "json":
                text = json.dumps(document, ensure_ascii=False)
            else:
                text = yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)
            self._bodies[(url, fmt)] = text.encode()
        return self._bodies[(url, fmt)]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in {"GET", "HEAD"}:
            base, _, name = scope["path"].rpartition("/")
            fmt = {"openapi.json": "json", "openapi.yaml": "yaml"}.get(name)
            if fmt and base in self.specs:
                url = scope.get("root_path", "").rstrip("/") + base
                media = "application/json" if fmt == "json" else "text/yaml"
                await Response(self.body(url, fmt), media_type=media)(scope, receive, send)
                return
        await self.app(scope, receive, send)
