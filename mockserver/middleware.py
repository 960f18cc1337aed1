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

What frontend tests ask for comes in between, each only when asked (a request journal, a
fault rule, a ``Prefer`` header), and costs an attribute check otherwise:

- every request is noted in the world's journal as it is answered (:mod:`mockserver.journal`);
- a ``throttle`` fault answers 429 at step 7, before the real throttle counts the request;
- after step 8, ``Prefer`` is read (:mod:`mockserver.prefer`); the body is read (step 9)
  unless a forced answer will take its place; then ``delay`` faults and ``Prefer: delay``
  hold the request on the world's clock (:mod:`mockserver.holds`) and a ``drop`` fault of the
  request stage closes the connection; a forced answer (``Prefer: code=``) is given here;
- a ``system_update`` fault answers 503 after step 11; a ``result_backend`` fault fails
  status, state and done before their handler, and cancel after it (its revoke went
  through); a ``drop`` fault of the response stage closes the connection after the handler.
"""

from __future__ import annotations

import json
import logging
import math
import re
from datetime import UTC, datetime
from email.utils import format_datetime
from http import HTTPStatus
from typing import Any

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mockserver import i18n
from mockserver.accounts import User
from mockserver.bodies import read_body
from mockserver.clock import ControlledClock
from mockserver.deployment import Deployment
from mockserver.dispatch import Caller, Operation, Operations, query_params
from mockserver.errors import (
    ApiError,
    AuthenticationFailed,
    InactiveUser,
    MethodNotAllowed,
    NotAcceptable,
    NotPermitted,
    ResultBackendFailed,
    ServiceUnavailable,
    Throttled,
)
from mockserver.faults import Faults, Met
from mockserver.holds import drop, hold
from mockserver.journal import Journal, Note
from mockserver.negotiation import select
from mockserver.permissions import require
from mockserver.prefer import Forced, PreferTable, parse, without_preferences
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


def http_date(moment: datetime) -> str:
    """``moment`` as an HTTP date: ``Tue, 01 Dec 2026 10:14:26 GMT``."""
    return http_date_bytes(moment).decode("ascii")


_last_date: tuple[int, bytes] = (0, b"")


def http_date_bytes(moment: datetime) -> bytes:
    """:func:`http_date` as bytes, made once per second of ``moment`` (every answer has one)."""
    global _last_date
    second = math.floor(moment.timestamp())
    last = _last_date
    if last[0] == second and last[1]:
        return last[1]
    made = format_datetime(moment.astimezone(UTC).replace(microsecond=0), usegmt=True).encode()
    _last_date = (second, made)
    return made


def localized(send: Send, language: str, now: datetime | None = None) -> Send:
    """``send`` adding ``Content-Language`` and ``Vary`` to the answer, as Django's
    ``LocaleMiddleware`` and session middleware do for every answer of a real deployment, and
    ``Date``, when given ``now``: the deployment's clock, as a real deployment's web server
    dates its answers by the clock its task times come from (a client comparing the two, as the
    contract suite does, sees them agree however the reference server's clock was set)."""

    async def send_localized(message: Message) -> None:
        if message["type"] == "http.response.start":
            raw = localized_headers(message.get("headers", []), language, now)
            message = {**message, "headers": raw}
        await send(message)

    return send_localized


def localized_headers(
    raw: list[tuple[bytes, bytes]], language: str, now: datetime | None
) -> list[tuple[bytes, bytes]]:
    """``raw`` with the headers :func:`localized` adds: ``Content-Language`` (replacing one
    already there), ``Accept-Language, Cookie`` added to ``Vary``, and ``Date`` by ``now``
    (if given) last."""
    if not any(name in _LOCALE_NAMES for name, _ in raw):  # the usual answer: appended
        added = [(b"content-language", language.encode()), _VARY]
        if now is not None:
            added.append((b"date", http_date_bytes(now)))
        return [*raw, *added]
    headers = MutableHeaders(raw=list(raw))
    headers["content-language"] = language
    headers.add_vary_header(i18n.VARY)
    if now is not None:
        headers["date"] = http_date(now)
    return headers.raw


class RequestHeaders(Headers):
    """A request's headers, as :class:`~starlette.datastructures.Headers` reads them (the
    first of a repeated name wins), looked up in a table made once: the pipeline asks for
    about ten, most of them not sent, and ``Headers`` finds a missing one by raising."""

    def __init__(self, scope: Scope) -> None:
        super().__init__(scope=scope)
        first: dict[str, str] = {}
        for name, value in self._list:
            first.setdefault(name.decode("latin-1"), value.decode("latin-1"))
        self._first = first

    def get(self, key: str, default: Any = None) -> Any:
        return self._first.get(key.lower(), default)

    def __getitem__(self, key: str) -> str:
        return self._first[key.lower()]

    def __contains__(self, key: Any) -> bool:
        return isinstance(key, str) and key.lower() in self._first


async def deliver(
    response: Response, send: Send, note: Note | None, language: str, now: datetime
) -> None:
    """Send ``response`` as :func:`localized` would have it sent (``Content-Language``,
    ``Vary`` and ``Date`` by ``now``), noting its status and size in ``note``: the headers go
    on in place, without a wrapper around ``send`` per message."""
    raw = localized_headers(response.raw_headers, language, now)
    body = response.body
    if note is not None:
        note.status = response.status_code
        note.response_bytes += len(body)
    await send({"type": "http.response.start", "status": response.status_code, "headers": raw})
    await send({"type": "http.response.body", "body": body})


_LOCALE_NAMES = frozenset((b"content-language", b"vary", b"date"))
_VARY = (b"vary", i18n.VARY.encode())


class ApiPipeline:
    """ASGI middleware running the checks above for the paths under the API's base path.

    :param operations: the API's operations, compiled from the spec.
    :param via_connexion: once the checks passed, hand the request on to ``app`` (connexion,
        which validates it again, calls the handler and checks the answer) instead of calling
        the operation.
    :param passthrough: paths under the base path that are not the API's (the spec, the UI).
    :param journal: where to note each request as it is answered (:mod:`mockserver.journal`);
        ``None`` notes nothing.
    :param faults: the world's fault rules (:mod:`mockserver.faults`).
    :param prefer: the operations' documented answers, which ``Prefer`` asks for
        (:mod:`mockserver.prefer`); ``None`` ignores it.
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
        journal: Journal | None = None,
        faults: Faults | None = None,
        prefer: PreferTable | None = None,
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
        self.journal = journal if journal is not None and journal.size else None
        self.faults = faults
        self.prefer = prefer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if (
            scope["type"] != "http"
            or not self.router.owns(path)
            or path.startswith(self.passthrough)
        ):
            await self.app(scope, receive, send)
            return
        if self.journal is None:
            await self._serve(scope, receive, send, None)
            return
        note = Note(self.deployment.now())
        try:
            await self._serve(scope, receive, send, note)
        finally:
            operation = None
            if note.endpoint is not None:
                found = self.operations.get(note.endpoint.template, scope["method"])
                operation = None if found is None else found.operation_id
            self.journal.add(note.entry(scope, operation))

    async def _serve(
        self, scope: Scope, receive: Receive, raw_send: Send, note: Note | None
    ) -> None:
        """Answer the request; ``raw_send`` is the server's. The answer of an operation goes
        to it with its headers added in place (:func:`deliver`); every other answer through
        :func:`localized` and the journal's :meth:`~mockserver.journal.Note.watch`."""
        path = scope["path"]
        headers = RequestHeaders(scope)
        language = i18n.negotiate(headers.get("accept-language"))
        now = self.deployment.now() if note is None else note.at  # one reading of the clock
        send = localized(raw_send if note is None else note.watch(raw_send), language, now)
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
                scope, receive, send, headers, endpoint, path_params, caller, note
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
        finally:
            if note is not None:
                note.endpoint = endpoint
                note.user = None if caller.user is None else caller.user.username
                note.request_bytes = headers.get("content-length")
        present = {name for name, _ in response.raw_headers}
        response.raw_headers += [
            h for h in self._extra_headers(caller, endpoint) if h[0] not in present
        ]
        await deliver(response, raw_send, note, language, now)

    async def _answer(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        headers: Headers,
        endpoint: Endpoint,
        path_params: dict[str, str],
        caller: Caller,
        note: Note | None,
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
        operation = self.operations.get(endpoint.template, method)
        met = None  # the fault rules this request may meet (mockserver/faults.py)
        if self.faults is not None and operation is not None:
            self.faults.sync()
            if self.faults.rules:
                met = Met(self.faults, operation.operation_id, caller.user, note)
        if met is not None and (throttled := met.fire("throttle")):
            raise Throttled(throttled[0].retry_after)
        self._throttle(scope, caller.user)
        if method == "OPTIONS":
            caller.plain = True
            return json_response(HTTPStatus.OK, endpoint.options, accept=accept)
        if method not in endpoint.methods:
            raise MethodNotAllowed(method)

        if operation is None:  # a path of the spec without its operation compiled
            raise MethodNotAllowed(method)
        preference = None  # Prism's Prefer (mockserver/prefer.py), read only when sent
        if self.prefer is not None and (
            _has_prefer(scope) or b"__" in scope.get("query_string", b"")
        ):
            preference = parse(headers.get("prefer"), scope.get("query_string", b""))
            if preference is not None:
                query = without_preferences(scope.get("query_string", b""))
                scope = {**scope, "query_string": query}
                if note is not None:
                    note.shaped = preference.text
        body = None
        if operation.body is not None and (preference is None or not preference.forced):
            body = operation.body.read(headers.get("content-type"), await read_body(receive))
        if met is not None or preference is not None:
            delays = [] if met is None else met.fire("delay")
            seconds = (0 if met is None else met.delay(delays)) + (
                0 if preference is None else preference.delay_ms / 1000
            )
            if seconds > 0:
                held = await self._hold(seconds, receive, real=Met.real(delays))
                if held is None:
                    return None  # the client went away
                receive = held
            if met is not None and met.fire("drop", stage="request"):
                await drop(scope, send)
                return None
        if preference is not None and preference.forced:
            assert self.prefer is not None
            forced = self.prefer.answer(operation.operation_id, preference)
            try:  # es_dc names the datacenter the request names (by its query or URL)
                self._settle_dc(operation, scope, caller, None)
            except ApiError:
                pass  # one it may not use: the forced answer takes that check's place
            return self._forced(forced, caller, accept, path_params.get("task_id"))
        self._settle_dc(operation, scope, caller, body)
        self._check_permission(operation, caller, path_params)
        if met is not None and met.fire("system_update"):
            raise ServiceUnavailable()
        self.deployment.settle()
        failing = None if met is None else met.fire("result_backend")
        if failing and operation.operation_id != "taskCancel":
            raise ResultBackendFailed(failing[0].backend)
        if self.via_connexion:
            if failing:
                raise ResultBackendFailed(failing[0].backend)
            await self._hand_over(scope, send, caller, endpoint, body)
            return None
        response = await operation(scope, caller, path_params, headers, body)
        if failing:  # the cancel's revoke went through; reading the state back fails
            raise ResultBackendFailed(failing[0].backend)
        if met is not None and met.fire("drop", stage="response"):
            await drop(scope, send)
            return None
        return response

    @staticmethod
    def _forced(
        forced: Forced, caller: Caller, accept: str | None, task_id: str | None
    ) -> Response:
        """The documented answer a ``Prefer`` asked for, with the caller's ``es_*`` headers
        where the response documents them, and the task id of the request in the example's
        place."""
        if forced.bare:
            response = not_routed()
        else:
            body = forced.body
            if task_id is not None and isinstance(body, dict) and "task_id" in body:
                body = {**body, "task_id": task_id}
            response = json_response(forced.status, body, accept=accept)
        response.status_code = forced.status
        for name, value in forced.headers:
            response.headers[name] = value
        response.headers["preference-applied"] = forced.applied
        caller.plain = caller.plain or not forced.names_caller
        return response

    async def _hold(self, seconds: float, receive: Receive, *, real: bool) -> Receive | None:
        """Hold the request ``seconds`` of the world's clock (or real ones); ``None`` if the
        client went away meanwhile."""
        clock = self.deployment.clock
        if self.faults is not None:
            self.faults.held += 1
        try:
            if real or not isinstance(clock, ControlledClock):
                return await hold(ControlledClock(scale=1), seconds, receive, real=True)
            return await hold(clock, seconds, receive, sync=self.deployment.sync)
        finally:
            if self.faults is not None:
                self.faults.held -= 1

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
        query = query_params(scope.get("query_string", b""))
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


def _has_prefer(scope: Scope) -> bool:
    """Whether the request sends a ``Prefer`` header (without the cost of a lookup that fails
    by raising, as ``Headers`` has it)."""
    for name, _value in scope["headers"]:
        if name == b"prefer":
            return True
    return False


def _slashed_url(scope: Scope, headers: Headers) -> str:
    """The absolute URL of the request with ``/`` after its path, its query kept as sent
    (``/task/log?page=2/`` goes to ``/task/log/?page=2/``)."""
    host = headers.get("host") or "{}:{}".format(*(scope.get("server") or ("127.0.0.1", 80)))
    raw_path = scope.get("raw_path") or scope.get("path", "").encode()
    query = scope.get("query_string", b"").decode("latin-1")
    path = raw_path.decode("latin-1")
    return f"{scope.get('scheme', 'http')}://{host}{path}/" + (f"?{query}" if query else "")
