"""The task API's operations, compiled from the spec once and called by the pipeline.

Each operation of the spec becomes an :class:`Operation`: what the pipeline needs to know
before validating anything (which datacenter the request names, the ``x-permission`` to
apply), the rules for its request body and its parameters (:mod:`mockserver.validation`), and
its handler. Once :class:`~mockserver.middleware.ApiPipeline` has resolved the URL, run its
checks, read the body, settled the datacenter and checked the permission,
:meth:`Operation.__call__` validates the parameters and calls the handler with a :class:`Call`.
Connexion's routing, validation and context layers are not on this path: they cost about six
times a bare route, and the pipeline already knows the endpoint.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from starlette.datastructures import URL, Headers, QueryParams
from starlette.responses import Response
from starlette.types import Scope

from mockserver.accounts import Dc, User
from mockserver.answers import Answer, AnswerCache
from mockserver.bodies import BodyRules
from mockserver.errors import AuthenticationFailed
from mockserver.i18n import ENGLISH
from mockserver.validation import PARAMS_KEY, ParameterRules

METHODS = ("get", "put", "post", "delete", "patch")


@dataclass
class Caller:
    """Who is calling and in which datacenter, as the pipeline found out.

    :param dc_name: the datacenter the answer names in ``es_dc``: the caller's current one once
        authenticated, the one the request runs in once resolved, ``None`` for nobody.
    :param dc: the datacenter the request runs in, once resolved.
    :param token: the login token the caller authenticated with (``None`` for an API key).
    :param language: the language of the answer's messages (:mod:`mockserver.i18n`).
    :param plain: the answer carries none of the ``es_*`` headers (real deployments build it
        without the request: OPTIONS, a failed login).
    """

    user: User | None
    path_dc: str | None
    original_path: str
    dc_name: str | None = None
    dc: Dc | None = None
    token: str | None = None
    language: str = ENGLISH
    plain: bool = False


@dataclass
class Call:
    """One request to an operation, as its handler sees it: validated and authenticated."""

    scope: Scope
    headers: Headers
    query: QueryParams
    path_params: dict[str, str]
    params: dict[str, Any]
    body: Any
    caller: Caller
    kept: bool = False
    kept_until: datetime | None = None
    #: Whether an answer the handler says may be kept is kept (the answer cache is on and the
    #: operation reads): when not, what only says how long to keep it need not be worked out.
    keeping: bool = False

    def keep(self, until: datetime | None = None) -> None:
        """Say the answer may be given again to the same request until the store is written
        to, or ``until`` (a moment of the deployment's clock) comes (:mod:`mockserver.answers`)."""
        self.kept, self.kept_until = True, until

    @property
    def method(self) -> str:
        method: str = self.scope["method"]
        return method

    @property
    def accept(self) -> str | None:
        return self.headers.get("accept")

    @property
    def url(self) -> URL:
        return URL(scope=self.scope)

    @property
    def user(self) -> User:
        """The authenticated caller; operations that need none never ask."""
        if self.caller.user is None:
            raise AuthenticationFailed()
        return self.caller.user


Handler = Callable[[Call], Awaitable[Response]]


@functools.lru_cache(maxsize=512)  # immutable, and a client polls the same URLs
def query_params(query_string: bytes) -> QueryParams:
    """``QueryParams(query_string)``, parsed once for the last few hundred query strings."""
    return QueryParams(query_string)


def _validated(
    rules: ParameterRules, query_string: bytes, path_values: tuple[tuple[str, str], ...]
) -> dict[str, Any]:
    """What :meth:`ParameterRules.validate` makes of a URL (only what passed is kept)."""
    return rules.validate(dict(path_values), query_params(query_string))


class Operation:
    """One operation of the spec: what it needs checked, its request rules and its handler.

    :param operation: the spec's operation object, resolved.
    :param path_parameters: the parameters its path item declares for every method.
    """

    def __init__(
        self,
        operation: dict[str, Any],
        path_parameters: list[dict[str, Any]],
        handler: Handler,
        answers: AnswerCache | None = None,
    ) -> None:
        self.operation_id: str = operation["operationId"]
        self.handler = handler
        self.answers = answers
        declared = {(p["name"], p["in"]): p for p in path_parameters}
        declared.update({(p["name"], p["in"]): p for p in operation.get("parameters", [])})
        self.parameters = ParameterRules(list(declared.values()))
        #: The parameters of the last URLs that passed: they depend on the URL alone.
        self._validated = functools.lru_cache(maxsize=512)(
            functools.partial(_validated, self.parameters)
        )
        #: The operation's x-permission, applied before its parameters are validated.
        self.permission: str | None = operation.get("x-permission")
        #: The path parameter that names a task, which the permission is about.
        self.task_parameter = next((p["name"] for p in self.parameters.path), None)
        request_body = operation.get("requestBody")
        self.body = None if request_body is None else BodyRules(request_body)
        #: Where the request names its datacenter: the query of a GET, the body otherwise, as
        #: the real ``request_data`` reads it; ``None`` for operations that are not DC-bound.
        self.dc_in: str | None = None
        if any(p["name"] == "dc" and p["in"] == "query" for p in self.parameters.query):
            self.dc_in = "query"
        elif self.body is not None and "dc" in self.body.properties:
            self.dc_in = "body"

    def __repr__(self) -> str:
        return f"Operation({self.operation_id!r})"

    def dc_named(self, query: Mapping[str, str], body: Mapping[str, Any] | None) -> Any:
        """The datacenter the request names, as sent; ``None`` when it names none (an empty
        value names none either, and wins over the URL's ``/dc/{dc}/`` prefix)."""
        data: Mapping[str, Any] = query if self.dc_in == "query" else (body or {})
        return data.get("dc") if self.dc_in is not None else None

    async def __call__(
        self,
        scope: Scope,
        caller: Caller,
        path_params: dict[str, str],
        headers: Headers,
        body: Any,
    ) -> Response:
        """Validate the parameters as real deployments do, in the same order, and call the
        handler; ``body`` is what :class:`BodyRules` read."""
        query_string = scope.get("query_string", b"")
        query = query_params(query_string)
        if len(query_string) <= 2048:
            # a copy: the handler's own
            params = dict(self._validated(query_string, tuple(path_params.items())))
        else:
            params = self.parameters.validate(path_params, query)
        key = None
        if self.answers is not None and self.body is None:
            user = caller.user
            key = (
                self.operation_id,
                None if user is None else user.id,
                caller.path_dc,
                caller.original_path,
                query_string,
                headers.get("accept"),
                headers.get("host"),
                scope.get("scheme"),
                scope.get("root_path"),
            )
            kept = self.answers.get(key)
            if kept is not None:
                caller.dc_name = kept.dc_name
                response = Response(kept.body, status_code=kept.status)
                response.raw_headers[:0] = kept.headers
                return response
        writes = 0 if self.answers is None else self.answers.writes()
        call = Call(scope, headers, query, path_params, params, body, caller)
        call.keeping = key is not None
        response = await self.handler(call)
        if key is not None and self.answers is not None and call.kept:
            self.answers.put(
                key,
                Answer(
                    status=response.status_code,
                    body=bytes(response.body),
                    headers=tuple(h for h in response.raw_headers if h[0] != b"content-length"),
                    dc_name=caller.dc_name or "",
                    writes=writes,
                    until=call.kept_until,
                ),
            )
        return response


class Operations:
    """Every operation of a spec, by path template and method.

    :param handlers: an object with a coroutine method per operationId, each taking a
        :class:`Call`.
    :param answers: where to keep answers handlers say may be given again; ``None`` keeps none.
    """

    def __init__(
        self, spec: dict[str, Any], handlers: object, answers: AnswerCache | None = None
    ) -> None:
        self._table: dict[tuple[str, str], Operation] = {}
        for template, item in spec["paths"].items():
            for method in METHODS:
                if method in item:
                    operation = item[method]
                    self._table[template, method.upper()] = Operation(
                        operation,
                        item.get("parameters", []),
                        handler_for(handlers, operation["operationId"]),
                        answers,
                    )

    def get(self, template: str, method: str) -> Operation | None:
        return self._table.get((template, method))

    def by_id(self, operation_id: str) -> Operation:
        return next(op for op in self._table.values() if op.operation_id == operation_id)

    def __len__(self) -> int:
        return len(self._table)


def handler_for(handlers: object, operation_id: str) -> Any:
    """The coroutine method of ``handlers`` named by ``operation_id``; fails at start-up, not
    on the first request, if there is none."""
    handler = getattr(handlers, operation_id, None)
    if operation_id.startswith("_") or not inspect.iscoroutinefunction(handler):
        raise LookupError(
            f"no handler for operationId {operation_id!r} in {type(handlers).__name__}"
        )
    return handler


def connexion_views(
    spec: dict[str, Any],
    handlers: object,
    caller_key: str,
    handlers_of: Callable[[Scope], object] | None = None,
) -> Callable[[str], Callable[..., Awaitable[Response]]]:
    """Connexion's function resolver for when connexion calls the handlers, because it checks
    the answers too (``--validate-responses``): each view makes the :class:`Call` from
    connexion's request.

    :param caller_key: where the pipeline leaves the :class:`Caller` in the scope.
    :param handlers_of: the handlers of the world a request is for (``handlers`` otherwise).
    """
    path_names = {
        operation["operationId"]: [
            p["name"]
            for p in [*item.get("parameters", []), *operation.get("parameters", [])]
            if p["in"] == "path"
        ]
        for item in spec["paths"].values()
        for method, operation in item.items()
        if method in METHODS
    }

    def resolve(operation_id: str) -> Callable[..., Awaitable[Response]]:
        if operation_id not in path_names:  # an OPTIONS operation: the pipeline answers it
            return _options_view
        handler = handler_for(handlers, operation_id)
        if handlers_of is not None:
            handler = _per_scope(handler, operation_id, handlers_of)
        return _connexion_view(handler, caller_key, path_names[operation_id])

    return resolve


def _per_scope(
    default: Handler, operation_id: str, handlers_of: Callable[[Scope], object]
) -> Handler:
    async def handler(call: Call) -> Response:
        own: Handler = getattr(handlers_of(call.scope), operation_id, default)
        return await own(call)

    return handler


async def _options_view() -> Response:
    raise AssertionError("OPTIONS is answered by the pipeline, never by connexion")


def _connexion_view(
    handler: Handler, caller_key: str, path_names: list[str]
) -> Callable[..., Awaitable[Response]]:
    from connexion import request

    async def view(body: Any = None, **_path: str) -> Response:
        scope = request.scope
        caller = scope.get(caller_key)
        if not isinstance(caller, Caller):
            raise AuthenticationFailed()
        call = Call(
            scope,
            Headers(scope=scope),
            QueryParams(scope.get("query_string", b"")),
            dict(request.path_params),
            scope.get(PARAMS_KEY, {}),
            body,
            caller,
        )
        return await handler(call)

    # Connexion passes a view what its signature names. Named, not **kwargs: to a view that
    # takes **kwargs it also passes the query, coerced by its own rules, not the real API's.
    keyword = inspect.Parameter.KEYWORD_ONLY
    view.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter(name, keyword, default=None) for name in ["body", *path_names]]
    )
    return view
