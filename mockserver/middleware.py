"""The checks every ``/api`` request passes before its handler, in real deployments' order.

Django's own layers first, whatever the URL under ``/api``:

1. the language of the answer, from ``Accept-Language`` (:mod:`mockserver.i18n`): every
   answer says it in ``Content-Language`` and carries ``Vary: Accept-Language, Cookie``;
2. ``/api`` itself lies outside the API's URLs: an HTML 404;
3. the ``/api/dc/{dc}/`` prefix is taken off the path and remembered;
4. the URL is resolved: 404 ``Resource not found`` (labelled JSON) if no endpoint matches, a
   301 to the slashed URL (query kept) if only the trailing slash is missing;

then the view's, as Django REST framework runs them:

5. content negotiation: 406 if the ``Accept`` header excludes JSON
   (:mod:`mockserver.negotiation`);
6. authentication: the ``ES-API-KEY`` header (an empty one counts as none), then
   ``Authorization: Token``; 403 for bad credentials, and, where the endpoint needs an
   account, for none or an inactive one;
7. throttling: 429 with ``Retry-After``;
8. the method: OPTIONS answers with the endpoint's name and description, other methods the
   endpoint lacks get 405;

then the operation's (:mod:`mockserver.dispatch`), as the real ``request_data`` and view run
them:

9. the body is read (:class:`~mockserver.validation.BodyRules`): 415 and 400 where the
   operation reads it strictly;
10. the datacenter the request names (the query of a GET, the body otherwise, the URL's
    prefix when neither names one) is resolved: 404 ``Datacenter not found``;
11. the operation's ``x-permission`` (:func:`mockserver.permissions.require`): 403
    ``Permission denied``, for a malformed task id too;
12. the deployment settles (finished tasks write their log entries), and the operation
    validates its parameters (400, then 412, then 404) and calls its handler.

From step 5 on every answer carries ``Allow``, ``es_version`` and ``es_username`` (empty for
nobody), and ``es_dc`` once the caller authenticated, except what real deployments build
without the request: the OPTIONS answer and a refused login carry no ``es_*`` header.
"""

from __future__ import annotations

import json
import logging
import re
from http import HTTPStatus

from starlette.datastructures import Headers, MutableHeaders, QueryParams
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mockserver import i18n
from mockserver.accounts import User
from mockserver.bodies import read_body
from mockserver.deployment import Deployment
from mockserver.dispatch import Caller, Operation, Operations
from mockserver.errors import (
    ApiError,
    AuthenticationFailed,
    InactiveUser,
    MethodNotAllowed,
    NotAcceptable,
    NotPermitted,
)
from mockserver.negotiation import select
from mockserver.permissions import require
from mockserver.responses import (
    error_response,
    html_not_found,
    json_response,
    not_routed,
    redirect,
    server_error,
)
from mockserver.routing import Endpoint, Router
from mockserver.throttle import Throttle
from mockserver.validation import as_text

CALLER_KEY = "esdc.caller"
_DC_PREFIX = re.compile(r"^(?P<base>.*?)/dc/(?P<dc>[A-Za-z0-9._-]+)(?P<rest>/.*)$")
log = logging.getLogger("mockserver")


def _token_key(header: str) -> str | None:
    """The key of an ``Authorization: Token <key>`` header, or ``None`` for other schemes."""
    parts = header.split()
    if not parts or parts[0].lower() != "token":
        return None
    if len(parts) == 1:
        raise AuthenticationFailed("Invalid token header. No credentials provided.")
    if len(parts) > 2:
        raise AuthenticationFailed("Invalid token header. Token string should not contain spaces.")
    return parts[1]


def localized(send: Send, language: str) -> Send:
    """``send`` adding ``Content-Language`` and ``Vary`` to the answer, as Django's
    ``LocaleMiddleware`` and session middleware do for every answer of a real deployment."""

    async def send_localized(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = MutableHeaders(raw=list(message.get("headers", [])))
            headers["content-language"] = language
            headers.add_vary_header(i18n.VARY)
            message = {**message, "headers": headers.raw}
        await send(message)

    return send_localized


class ApiPipeline:
    """ASGI middleware running the checks above for the paths under the API's base path.

    :param operations: the API's operations, compiled from the spec.
    :param via_connexion: once the checks passed, hand the request on to ``app`` (connexion,
        which validates it again, calls the handler and checks the answer) instead of calling
        the operation.
    :param passthrough: paths under the base path that are not the API's (the spec, the UI).
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        deployment: Deployment,
        router: Router,
        version: str,
        user_throttle: Throttle | None,
        anon_throttle: Throttle | None,
        operations: Operations,
        via_connexion: bool = False,
        passthrough: tuple[str, ...] = (),
    ) -> None:
        self.app = app
        self.deployment = deployment
        self.router = router
        self.version = version
        self.user_throttle = user_throttle
        self.anon_throttle = anon_throttle
        self.operations = operations
        self.via_connexion = via_connexion
        self.passthrough = passthrough

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if (
            scope["type"] != "http"
            or not self.router.owns(path)
            or path.startswith(self.passthrough)
        ):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        language = i18n.negotiate(headers.get("accept-language"))
        send = localized(send, language)
        if path == self.router.base_path:
            await html_not_found()(scope, receive, send)
            return

        original_path, path_dc = path, None
        prefixed = _DC_PREFIX.match(path)
        if prefixed and prefixed["base"] == self.router.base_path:
            path_dc = prefixed["dc"]
            path = prefixed["base"] + prefixed["rest"]
        resolved = self.router.resolve(path)
        if resolved is None:
            if not path.endswith("/") and self.router.match(path + "/"):
                response = redirect(_slashed_url(scope, headers))
            else:
                response = not_routed()
            await response(scope, receive, send)
            return
        if path != original_path:
            scope = {**scope, "path": path, "raw_path": path.encode()}

        endpoint, path_params = resolved
        caller = Caller(None, path_dc, original_path, language=language)
        try:
            answer = await self._answer(
                scope, receive, send, headers, endpoint, path_params, caller
            )
            if answer is None:
                return  # connexion answered
            response = answer
        except ApiError as exc:
            caller.plain = caller.plain or exc.plain
            response = error_response(exc, headers.get("accept"), language)
        except Exception:
            log.exception("unhandled error on %s %s", scope["method"], original_path)
            await server_error()(scope, receive, send)
            return
        present = {name for name, _ in response.raw_headers}
        response.raw_headers += [
            h for h in self._extra_headers(caller, endpoint) if h[0] not in present
        ]
        await response(scope, receive, send)

    async def _answer(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        headers: Headers,
        endpoint: Endpoint,
        path_params: dict[str, str],
        caller: Caller,
    ) -> Response | None:
        method = scope["method"]
        accept = headers.get("accept")
        if select(accept) is None:
            # The 406 names the caller it authenticated while writing its headers; bad
            # credentials fail there on real deployments (x-known-defects:
            # bad-credentials-and-accept), here the answer is the 406 to nobody.
            try:
                self._authenticate(headers, caller)
            except ApiError:
                caller.user = caller.dc_name = caller.token = None
            raise NotAcceptable()
        self._authenticate(headers, caller)
        if endpoint.needs_credentials(method):
            if caller.user is None:
                raise AuthenticationFailed()
            if not caller.user.is_active:
                raise NotPermitted()
        self._throttle(scope, caller.user)
        if method == "OPTIONS":
            caller.plain = True
            return json_response(HTTPStatus.OK, endpoint.options, accept=accept)
        if method not in endpoint.methods:
            raise MethodNotAllowed(method)

        operation = self.operations.get(endpoint.template, method)
        if operation is None:  # a path of the spec without its operation compiled
            raise MethodNotAllowed(method)
        body = None
        if operation.body is not None:
            body = operation.body.read(headers.get("content-type"), await read_body(receive))
        self._settle_dc(operation, scope, caller, body)
        self._check_permission(operation, caller, path_params)
        self.deployment.settle()
        if self.via_connexion:
            await self._hand_over(scope, send, caller, endpoint, body)
            return None
        return await operation(scope, caller, path_params, headers, body)

    def _authenticate(self, headers: Headers, caller: Caller) -> None:
        """Find the caller: the API key wins over a token; an empty key counts as none."""
        user, token = None, None
        key = headers.get("es-api-key")
        if key:
            user = self._user_by_api_key(key)
        else:
            authorization = headers.get("authorization")
            token = None if authorization is None else _token_key(authorization)
            if token is not None:
                user = self.deployment.user_by_token(token)
        caller.user, caller.token = user, (token if user is not None else None)
        if user is not None:
            caller.dc_name = self.deployment.dc_by_id(user.current_dc).name

    def _user_by_api_key(self, key: str) -> User:
        """The key's user. An inactive account's key authenticates on real deployments (the
        answers name the account in ``es_username``); the permission check refuses it, where
        the endpoint needs an account."""
        try:
            return self.deployment.user_by_api_key(key)
        except InactiveUser:
            user = next(u for u in self.deployment.users.values() if u.api_key == key)
            if not user.api_access:
                raise AuthenticationFailed("User account is not allowed to access API") from None
            return user

    def _throttle(self, scope: Scope, user: User | None) -> None:
        if user is not None and self.user_throttle is not None:
            self.user_throttle.hit(f"user:{user.id}")
        elif user is None and self.anon_throttle is not None:
            client = scope.get("client") or ("unknown", 0)
            self.anon_throttle.hit(f"ip:{client[0]}")

    def _settle_dc(self, operation: Operation, scope: Scope, caller: Caller, body: object) -> None:
        """The datacenter the request runs in: the one it names, if any and not the caller's
        current one, else the current one (``?dc=`` names none, so the URL's prefix loses to
        it)."""
        user = caller.user
        if user is None or operation.dc_in is None:
            return
        query = QueryParams(scope.get("query_string", b""))
        named = operation.dc_named(query, body if isinstance(body, dict) else None)
        name = caller.path_dc if named is None else named
        current = self.deployment.dc_by_id(user.current_dc)
        if name and as_text(name) != current.name:
            caller.dc = self.deployment.resolve_dc(user, as_text(name))
        else:
            caller.dc = current
        caller.dc_name = caller.dc.name

    def _check_permission(
        self, operation: Operation, caller: Caller, path_params: dict[str, str]
    ) -> None:
        user = caller.user
        if operation.permission is None or user is None:
            return
        task = operation.task_parameter
        require(
            operation.permission,
            user,
            dc_id=caller.dc.id if caller.dc is not None else user.current_dc,
            task_id=None if task is None else path_params.get(task),
            dc_ids=self.deployment.dcs,
        )

    async def _hand_over(
        self, scope: Scope, send: Send, caller: Caller, endpoint: Endpoint, body: object
    ) -> None:
        """Let connexion validate the request again, call the handler and check its answer.
        The body it gets is the one already read, as JSON."""
        scope = {**scope, CALLER_KEY: caller}
        headers = [
            (name, value)
            for name, value in scope["headers"]
            if name.lower() not in (b"content-type", b"content-length")
        ]
        content = b""
        if body is not None:
            content = json.dumps(body).encode()
            headers += [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(content)).encode()),
            ]
        scope["headers"] = headers
        sent = False

        async def receive() -> Message:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": content, "more_body": False}

        await self.app(scope, receive, self._with_headers(send, caller, endpoint))

    def _extra_headers(self, caller: Caller, endpoint: Endpoint) -> list[tuple[bytes, bytes]]:
        """The headers the answers of an endpoint carry (unless they have their own)."""
        extra = [(b"allow", endpoint.allow.encode())]
        if not caller.plain:
            extra += [
                (b"es_version", self.version.encode()),
                (b"es_username", (caller.user.username if caller.user else "").encode()),
            ]
            if caller.user is not None and caller.dc_name:
                extra.append((b"es_dc", caller.dc_name.encode()))
        return extra

    def _with_headers(self, send: Send, caller: Caller, endpoint: Endpoint) -> Send:
        """``send`` adding :meth:`_extra_headers`, for answers connexion makes."""

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                message = {
                    **message,
                    "headers": [
                        *message.get("headers", []),
                        *(h for h in self._extra_headers(caller, endpoint) if h[0] not in present),
                    ],
                }
            await send(message)

        return send_with_headers


def _slashed_url(scope: Scope, headers: Headers) -> str:
    """The absolute URL of the request with ``/`` after its path, its query kept as sent
    (``/task/log?page=2/`` goes to ``/task/log/?page=2/``)."""
    host = headers.get("host") or "{}:{}".format(*(scope.get("server") or ("127.0.0.1", 80)))
    raw_path = scope.get("raw_path") or scope.get("path", "").encode()
    query = scope.get("query_string", b"").decode("latin-1")
    path = raw_path.decode("latin-1")
    return f"{scope.get('scheme', 'http')}://{host}{path}/" + (f"?{query}" if query else "")
