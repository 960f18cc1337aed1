"""The checks every ``/api/`` request passes before its handler, in real deployments' order.

1. the ``/api/dc/{dc}/`` prefix is taken off the path and remembered;
2. the URL is resolved: a plain-text 404 if no endpoint matches, a 301 to the slashed URL if
   only the trailing slash is missing;
3. content negotiation: 406 if the ``Accept`` header excludes JSON;
4. authentication: the ``ES-API-KEY`` header, then ``Authorization: Token``; 403 for bad or
   missing credentials;
5. throttling: 429 with ``Retry-After``;
6. the method: OPTIONS answers with the endpoint's description, other methods the endpoint
   lacks get 405 with ``Allow``;

then the deployment settles (finished tasks write their log entries), and the operation
(:mod:`mockserver.dispatch`) validates the request against the spec and calls its handler.
Every answer from step 3 on carries the ``es_version``, ``es_username`` and ``es_dc`` headers.
"""

from __future__ import annotations

import logging
import re
from http import HTTPStatus

from starlette.datastructures import Headers
from starlette.responses import RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mockserver.accounts import User
from mockserver.deployment import Deployment
from mockserver.dispatch import Caller, Operations
from mockserver.errors import ApiError, AuthenticationFailed
from mockserver.responses import error_response, json_response, not_routed, server_error
from mockserver.routing import Endpoint, Router
from mockserver.throttle import Throttle

CALLER_KEY = "esdc.caller"
_DC_PREFIX = re.compile(r"^(?P<base>.*?)/dc/(?P<dc>[A-Za-z0-9._-]+)(?P<rest>/.*)$")
log = logging.getLogger("mockserver")


def accepts_json(accept: str | None) -> bool:
    """Whether an ``Accept`` header allows ``application/json`` (no header allows anything)."""
    if accept is None or not accept.strip():
        return True
    for item in accept.split(","):
        media, *params = [part.strip() for part in item.split(";")]
        if media.lower() not in ("*/*", "application/*", "application/json"):
            continue
        quality = next((p[2:] for p in params if p.startswith("q=")), "1")
        try:
            if float(quality) > 0:
                return True
        except ValueError:
            return True
    return False


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


class ApiPipeline:
    """ASGI middleware running the checks above for the paths under the API's base path.

    :param operations: the API's operations, which the pipeline calls itself; ``None`` hands
        checked requests on to ``app`` (connexion), which then routes and validates them again.
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
        operations: Operations | None = None,
        passthrough: tuple[str, ...] = (),
    ) -> None:
        self.app = app
        self.deployment = deployment
        self.router = router
        self.version = version
        self.user_throttle = user_throttle
        self.anon_throttle = anon_throttle
        self.operations = operations
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

        original_path, path_dc = path, None
        prefixed = _DC_PREFIX.match(path)
        if prefixed and prefixed["base"] == self.router.base_path:
            path_dc = prefixed["dc"]
            path = prefixed["base"] + prefixed["rest"]
            scope = {**scope, "path": path, "raw_path": path.encode()}

        resolved = self.router.resolve(path)
        if resolved is None:
            if not path.endswith("/") and self.router.match(path + "/"):
                await self._redirect(scope, original_path + "/")(scope, receive, send)
            else:
                await not_routed()(scope, receive, send)
            return

        endpoint, path_params = resolved
        headers = Headers(scope=scope)
        caller = Caller(None, path_dc, original_path, self._default_dc_name())
        try:
            response = self._checks(scope, headers, endpoint, caller)
            if response is None:
                self.deployment.settle()
                operation = (
                    None
                    if self.operations is None
                    else self.operations.get(endpoint.template, scope["method"])
                )
                if operation is None:
                    scope = {**scope, CALLER_KEY: caller}
                    if scope["method"] == "GET":
                        scope["headers"] = _without_body_headers(scope["headers"])
                    await self.app(scope, receive, self._with_headers(send, caller, endpoint))
                    return
                response = await operation(scope, receive, caller, path_params, headers)
        except ApiError as exc:
            response = error_response(exc, headers.get("accept"))
        except Exception:
            log.exception("unhandled error on %s %s", scope["method"], original_path)
            response = server_error()
        present = {name for name, _ in response.raw_headers}
        response.raw_headers += [
            h for h in self._extra_headers(caller, endpoint) if h[0] not in present
        ]
        await response(scope, receive, send)

    def _checks(
        self, scope: Scope, headers: Headers, endpoint: Endpoint, caller: Caller
    ) -> Response | None:
        accept = headers.get("accept")
        if not accepts_json(accept):
            return json_response(
                HTTPStatus.NOT_ACCEPTABLE,
                {"detail": "Could not satisfy the request Accept header."},
            )
        method = scope["method"]
        caller.user = self._authenticate(headers)
        if caller.user is not None:
            caller.dc_name = self.deployment.dc_by_id(caller.user.current_dc).name
        elif endpoint.needs_credentials(method):
            raise AuthenticationFailed()
        self._throttle(scope, caller.user)
        if method == "OPTIONS":
            return json_response(HTTPStatus.OK, endpoint.options_body(), accept=accept)
        if method not in endpoint.methods:
            return json_response(
                HTTPStatus.METHOD_NOT_ALLOWED,
                {"detail": f'Method "{method}" not allowed.'},
                accept=accept,
            )
        return None

    def _authenticate(self, headers: Headers) -> User | None:
        key = headers.get("es-api-key")
        if key is not None:
            return self.deployment.user_by_api_key(key)
        authorization = headers.get("authorization")
        if authorization is not None:
            token = _token_key(authorization)
            if token is not None:
                return self.deployment.user_by_token(token)
        return None

    def _throttle(self, scope: Scope, user: User | None) -> None:
        if user is not None and self.user_throttle is not None:
            self.user_throttle.hit(f"user:{user.id}")
        elif user is None and self.anon_throttle is not None:
            client = scope.get("client") or ("unknown", 0)
            self.anon_throttle.hit(f"ip:{client[0]}")

    def _default_dc_name(self) -> str:
        return next(dc.name for dc in self.deployment.dcs.values() if dc.is_default)

    @staticmethod
    def _redirect(scope: Scope, path: str) -> Response:
        headers = Headers(scope=scope)
        host = headers.get("host") or "{}:{}".format(*(scope.get("server") or ("127.0.0.1", 80)))
        query = scope.get("query_string", b"").decode("latin-1")
        url = f"{scope.get('scheme', 'http')}://{host}{path}" + (f"?{query}" if query else "")
        return RedirectResponse(url, status_code=HTTPStatus.MOVED_PERMANENTLY)

    def _extra_headers(self, caller: Caller, endpoint: Endpoint) -> list[tuple[bytes, bytes]]:
        """The headers every answer from the checks on carries (unless it has its own)."""
        return [
            (b"es_version", self.version.encode()),
            (b"es_username", (caller.user.username if caller.user else "").encode()),
            (b"es_dc", caller.dc_name.encode()),
            (b"allow", endpoint.allow.encode()),
        ]

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


def _without_body_headers(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """A GET's headers minus those describing a body: real deployments read a GET's data from
    the query string only, so ``Content-Type: multipart/form-data`` must not make connexion
    parse (and refuse) a body."""
    return [
        (name, value)
        for name, value in headers
        if name.lower() not in (b"content-type", b"content-length")
    ]
