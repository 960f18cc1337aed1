"""The task API's operations, compiled from the spec once and called by the pipeline.

Each operation of the spec becomes an :class:`Operation`: the rules for its parameters and its
JSON body (:mod:`mockserver.validation`, the same ones connexion runs for the control API) and
its handler. Once :class:`~mockserver.middleware.ApiPipeline` has resolved the URL and run its
checks, :meth:`Operation.__call__` validates the request and calls the handler with a
:class:`Call`. Connexion's routing, validation and context layers are not on this path: they
cost about six times a bare route, and the pipeline already knows the endpoint.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from http import HTTPStatus
from typing import Any

from connexion.datastructures import MediaTypeDict
from connexion.utils import split_content_type
from starlette.datastructures import URL, Headers, QueryParams
from starlette.responses import Response
from starlette.types import Receive, Scope

from mockserver.accounts import User
from mockserver.answers import Answer, AnswerCache
from mockserver.errors import ApiError, AuthenticationFailed
from mockserver.validation import PARAMS_KEY, JsonBodyRules, ParameterRules

METHODS = ("get", "put", "post", "delete", "patch")


@dataclass
class Caller:
    """Who is calling and in which datacenter, as the pipeline found out."""

    user: User | None
    path_dc: str | None
    original_path: str
    dc_name: str


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


class UnsupportedMediaType(ApiError):
    """A body in a media type the operation does not take: connexion's 415 problem."""

    status = HTTPStatus.UNSUPPORTED_MEDIA_TYPE
    media_type = "application/problem+json"

    def body(self) -> Any:
        return {
            "type": "about:blank",
            "title": "Unsupported Media Type",
            "detail": self.detail,
            "status": int(self.status),
        }


class Operation:
    """One operation of the spec: its request rules and its handler.

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
        request_body = operation.get("requestBody")
        self.consumes: tuple[str, ...] = ()
        self.body: JsonBodyRules | None = None
        if request_body is not None:
            content = request_body.get("content", {})
            self.consumes = tuple(content)
            schema = content.get("application/json", {}).get("schema")
            if schema is not None:
                self.body = JsonBodyRules(
                    schema,
                    required=bool(request_body.get("required", False)),
                    nullable=bool(schema.get("nullable", False)),
                )

    def __repr__(self) -> str:
        return f"Operation({self.operation_id!r})"

    async def __call__(
        self,
        scope: Scope,
        receive: Receive,
        caller: Caller,
        path_params: dict[str, str],
        headers: Headers,
    ) -> Response:
        """Validate the request as connexion would, in the same order, and call the handler."""
        query_string = scope.get("query_string", b"")
        query = QueryParams(query_string)
        params = self.parameters.validate(path_params, query)
        body = None
        if self.consumes:
            body = await self._body(headers, receive)
        key = None
        if self.answers is not None and not self.consumes:
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
        response = await self.handler(call)
        if key is not None and self.answers is not None and call.kept:
            self.answers.put(
                key,
                Answer(
                    status=response.status_code,
                    body=bytes(response.body),
                    headers=tuple(h for h in response.raw_headers if h[0] != b"content-length"),
                    dc_name=caller.dc_name,
                    writes=writes,
                    until=call.kept_until,
                ),
            )
        return response

    async def _body(self, headers: Headers, receive: Receive) -> Any:
        mime_type, _ = split_content_type(headers.get("content-type"))
        mime_type = (mime_type or self.consumes[0]).lower()
        if mime_type not in MediaTypeDict([(c.lower(), None) for c in self.consumes]):
            raise UnsupportedMediaType(
                f"Invalid Content-type ({mime_type}), expected {list(self.consumes)}"
            )
        if self.body is None or not mime_type.endswith("json"):
            return None
        self.body.check_length(headers)
        return self.body.accept(await read_body(receive))


async def read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


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
    spec: dict[str, Any], handlers: object, caller_key: str
) -> Callable[[str], Callable[..., Awaitable[Response]]]:
    """Connexion's function resolver for when connexion calls the handlers, because it checks
    the answers too (``--validate-responses``): each view makes the :class:`Call` from
    connexion's request.

    :param caller_key: where the pipeline leaves the :class:`Caller` in the scope.
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
        return _connexion_view(
            handler_for(handlers, operation_id), caller_key, path_names[operation_id]
        )

    return resolve


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
