"""Which requests reach the reference server, and which of them may use its control API.

The server hands out a world's passwords and keys, and its control API changes that world at
will: as developer tools with an admin API do, it keeps both from web pages of other sites
and, unless asked, from the network. :class:`Guard`, the outermost layer, refuses

1. on every path, a ``Host`` that names none of the server's names: 400. A page of another
   site that its own DNS name leads here (DNS rebinding) reads nothing, and no answer
   carries a name it was not started for (the 301's ``Location``, the log's page links).
   The names (:class:`AllowedHosts`): ``localhost`` and its subdomains, every IP address
   (nobody can rebind those), the name the server listens on, the machine's own names when
   it listens beyond loopback, and what ``--allowed-host`` adds; the port does not matter.
   A request without ``Host`` (HTTP/1.0) passes;

then, under the control API (``/control/...``, and a named world's ``/w/{name}/control/...``,
:func:`is_control_path`):

2. everything, with 404, when it is off (``--no-control``);
3. without ``ESDC-Control: <token>``, when the server has a token (``--control-token``, made
   up at start when it listens beyond loopback), every request but the API's own docs
   (``/ui/``, ``/openapi.json``, ``/openapi.yaml``), OPTIONS, and the control page (a
   ``GET`` of the base or of ``/page/...`` whose answer is HTML, a script or a style sheet;
   the page asks for the token and sends it): 401;
4. a request a page of another origin sends (its ``Origin`` is not this server's, nor one
   ``--control-cors-origin`` names): 403;
5. a request that changes something (not GET, HEAD, OPTIONS) with a body in another media
   type than JSON (what an HTML form sends: a form, or text): 403;
6. one that changes something and comes from a browser (it sends ``Origin``, a
   ``Sec-Fetch-*`` header or a ``Mozilla/`` user agent) but not from this server's own
   pages, unless it carries a JSON body or the ``ESDC-Control`` header (a page of another
   site cannot send either without a CORS preflight, which the control API does not
   answer, and a ``no-cors`` fetch cannot at all): 403.

So a page served by the server itself (its Swagger UI, a control page) drives the control API
with a plain ``fetch``; curl and scripts need nothing (``ESDC-Control: <token>`` when the
server has a token); a form or a ``fetch`` of another site changes nothing.

Each refusal is JSON, ``{"detail": "..."}``, saying what to send instead. An ``/api/``
request costs one dictionary lookup here once its ``Host`` has been seen.
"""

from __future__ import annotations

import ipaddress
import json
import secrets
import socket
from collections.abc import Iterable
from http import HTTPStatus

from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: The header a control client sends: the server's token, or anything when it has none.
CONTROL_HEADER = "ESDC-Control"
_CONTROL_HEADER = CONTROL_HEADER.lower().encode()
#: What of a control API stays open without the token: its docs (Swagger UI and the spec).
OPEN_WITHOUT_TOKEN = ("/ui", "/openapi.json", "/openapi.yaml")
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: What a page of the control API is, which it serves without the token.
_PAGE_MEDIA = (b"text/html", b"text/javascript", b"text/css")
#: Host headers whose verdict is remembered (clients send the same few).
_REMEMBERED = 1024


def is_control_path(path: str) -> bool:
    """Whether ``path`` is the control API's: ``/control`` and everything under it, and a
    named world's ``/w/{name}/control`` and everything under that."""
    return _control_base(path) is not None


def _control_base(path: str) -> str | None:
    """The control API's base path ``path`` is under, if any."""
    if path.startswith("/control"):
        return "/control" if len(path) == 8 or path[8] == "/" else None
    if path.startswith("/w/"):
        parts = path.split("/", 4)  # "", "w", name, "control", rest
        if len(parts) >= 4 and parts[3] == "control":
            return "/".join(parts[:4])
    return None


def is_loopback(host: str) -> bool:
    """Whether listening on ``host`` keeps the server to this machine."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def make_token() -> str:
    """A control token, for a server that listens beyond loopback and was given none."""
    return secrets.token_urlsafe(18)


def host_name(host: str) -> str:
    """The name in a ``Host`` header, without its port, lower case: ``[::1]:8000`` is
    ``::1``, ``Example.COM.:80`` is ``example.com``."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    if host.count(":") == 1:
        host = host.partition(":")[0]
    return host.rstrip(".")


class AllowedHosts:
    """The names a ``Host`` header may give.

    :param names: names, ``.example.com`` for it and its subdomains, ``*`` for any.
    :param in_process: also ``testserver``, the name test clients give an app in-process.
    """

    def __init__(self, names: Iterable[str] = (), *, in_process: bool = False) -> None:
        self.names = {"localhost"} | {n.strip().lower().rstrip(".") for n in names if n.strip()}
        if in_process:
            self.names.add("testserver")
        self.any = "*" in self.names
        domains = [n for n in self.names if n.startswith(".")]
        self.names |= {d[1:] for d in domains}  # ".example.com" is example.com too
        self.suffixes = (".localhost", *domains)

    @classmethod
    def for_server(
        cls, listen: str, added: Iterable[str] | None, *, in_process: bool = False
    ) -> AllowedHosts:
        """The names of a server listening on ``listen`` (a name itself, unless it is an
        address), with its machine's names when that is beyond loopback."""
        names = list(added or ())
        if not _is_address(listen) and listen not in ("", "0.0.0.0", "::"):
            names.append(listen)
        if not is_loopback(listen):
            names += [socket.gethostname(), socket.getfqdn()]
        return cls(names, in_process=in_process)

    def __repr__(self) -> str:
        return f"AllowedHosts({sorted(self.names)!r})"

    def allows(self, name: str) -> bool:
        if self.any or name in self.names or name.endswith(self.suffixes):
            return True
        return _is_address(name)

    def describe(self) -> str:
        """The names, as the banner lists them."""
        if self.any:
            return "any (--allowed-host '*')"
        named = sorted(self.names - {"localhost", "testserver"})
        return ", ".join(["localhost", "IP addresses", *named])


def _is_address(name: str) -> bool:
    try:
        ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        return False
    return True


class Guard:
    """The rules above, ahead of everything else.

    :param hosts: the names ``Host`` may give.
    :param control: whether the control API is on.
    :param token: the token control clients send in ``ESDC-Control``; ``None`` for none.
    :param cors_origins: origins whose pages may use the control API (``--control-cors-origin``).
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        hosts: AllowedHosts,
        control: bool = True,
        token: str | None = None,
        cors_origins: Iterable[str] = (),
    ) -> None:
        self.app = app
        self.hosts = hosts
        self.control = control
        self.token = token
        self.cors_origins = frozenset(o.rstrip("/").lower() for o in cors_origins)
        self._verdicts: dict[bytes, bool] = {}

    def __repr__(self) -> str:
        return f"Guard({self.hosts!r}, control={self.control}, token={self.token is not None})"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        host = b""
        for name, value in scope["headers"]:
            if name == b"host":
                host = value
                break
        if host and not self._host_allowed(host):
            name = host_name(host.decode("latin-1"))
            await _refuse(
                HTTPStatus.BAD_REQUEST,
                f"Invalid Host header {name!r}: this server answers to "
                f"{self.hosts.describe()}. To reach it by this name, start it with "
                f"--allowed-host {name}",
            )(scope, receive, send)
            return
        base = _control_base(scope.get("path", ""))
        if base is not None:
            refusal = self._control_refusal(scope, base, host)
            if refusal is not None:
                await refusal(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _host_allowed(self, host: bytes) -> bool:
        verdict = self._verdicts.get(host)
        if verdict is None:
            verdict = self.hosts.allows(host_name(host.decode("latin-1")))
            if len(self._verdicts) < _REMEMBERED:
                self._verdicts[host] = verdict
        return verdict

    def _control_refusal(self, scope: Scope, base: str, host: bytes) -> ASGIApp | None:
        if not self.control:
            return _refuse(
                HTTPStatus.NOT_FOUND,
                "The control API is off: this server was started with --no-control.",
            )
        method = scope["method"]
        headers = {name: value for name, value in scope["headers"]}
        rest = scope["path"][len(base) :]
        sent = headers.get(_CONTROL_HEADER)
        if self.token is not None and method != "OPTIONS" and not _is_docs(rest):
            given = (sent or b"").decode("latin-1").strip()
            if not secrets.compare_digest(given.encode(), self.token.encode()):
                refusal = _refuse(
                    HTTPStatus.UNAUTHORIZED,
                    f"The control API needs its token: send the header '{CONTROL_HEADER}: "
                    "<token>' (esdc-api serve printed it on start, or was given it with "
                    "--control-token or ESDC_SERVE_CONTROL_TOKEN)."
                    if not given
                    else f"Wrong token in {CONTROL_HEADER}; the server printed its own on start.",
                    {"WWW-Authenticate": CONTROL_HEADER},
                )
                if method in ("GET", "HEAD") and (rest in ("", "/") or rest.startswith("/page/")):
                    return _pages_only(self.app, refusal)
                return refusal
        origin = headers.get(b"origin")
        own = origin is not None and self._own_origin(origin, host)
        invited = origin is not None and origin.decode("latin-1").lower() in self.cors_origins
        if origin is not None and not own and not invited:
            return _refuse(
                HTTPStatus.FORBIDDEN,
                "The control API refuses the requests of other origins' pages "
                f"({origin.decode('latin-1')!r}); --control-cors-origin lets one in.",
            )
        if method in _SAFE_METHODS:
            return None
        content_type = headers.get(b"content-type")
        is_json = content_type is not None and _is_json(content_type)
        if content_type is not None and not is_json:
            return _refuse(
                HTTPStatus.FORBIDDEN,
                "The control API takes JSON (Content-Type: application/json), not "
                f"{content_type.decode('latin-1')!r}: what an HTML form sends changes nothing.",
            )
        fetch_site = headers.get(b"sec-fetch-site")
        if fetch_site in (b"cross-site", b"same-site") and not invited:
            return _refuse(
                HTTPStatus.FORBIDDEN,
                "The control API refuses the requests of other sites' pages "
                f"(Sec-Fetch-Site: {fetch_site.decode('latin-1')}).",
            )
        if own or fetch_site == b"same-origin" or is_json or sent is not None:
            return None  # this server's own pages, or what no other site's page can send
        agent = headers.get(b"user-agent", b"")
        if (
            origin is not None
            or fetch_site is not None
            or b"sec-fetch-mode" in headers
            or agent.startswith(b"Mozilla/")
        ):
            return _refuse(
                HTTPStatus.FORBIDDEN,
                "A browser's request that changes the world needs a JSON body or the header "
                f"'{CONTROL_HEADER}: 1', which other sites' pages cannot send.",
            )
        return None  # not a browser: curl, a script, a test suite

    @staticmethod
    def _own_origin(origin: bytes, host: bytes) -> bool:
        """Whether ``origin`` is this server's own: the scheme's authority is ``Host``."""
        text = origin.decode("latin-1").lower()
        scheme, _, authority = text.partition("://")
        if scheme not in ("http", "https") or not host:
            return False
        default = ":443" if scheme == "https" else ":80"
        given = host.decode("latin-1").lower()
        return authority.removesuffix(default) == given.removesuffix(default)


def _pages_only(app: ASGIApp, refusal: ASGIApp) -> ASGIApp:
    """``app``'s answer if it is a page (HTML, a script, a style sheet), which holds no
    secret, and ``refusal`` instead of anything else: a browser opens the control page
    without the token and gives it the token then, and the overview's JSON at the same URL
    still needs it."""

    async def answer(scope: Scope, receive: Receive, send: Send) -> None:
        held = False

        async def pages(message: Message) -> None:
            nonlocal held
            if message["type"] == "http.response.start":
                media = dict(message.get("headers", [])).get(b"content-type", b"")
                held = not media.lower().startswith(_PAGE_MEDIA)
            if not held:
                await send(message)

        await app(scope, receive, pages)
        if held:
            await refusal(scope, receive, send)

    return answer


def _is_docs(rest: str) -> bool:
    return any(rest == doc or rest.startswith(doc + "/") for doc in OPEN_WITHOUT_TOKEN)


def _is_json(content_type: bytes) -> bool:
    media = content_type.split(b";")[0].strip().lower()
    return media == b"application/json" or (
        media.startswith(b"application/") and media.endswith(b"+json")
    )


def _refuse(status: HTTPStatus, detail: str, headers: dict[str, str] | None = None) -> ASGIApp:
    body = json.dumps({"detail": detail}).encode()
    raw = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *((k.lower().encode(), v.encode()) for k, v in (headers or {}).items()),
    ]

    async def answer(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": int(status), "headers": raw})
        await send({"type": "http.response.body", "body": body})

    return answer
