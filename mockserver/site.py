"""What the reference server answers outside the APIs: its root, and the built docs."""

from __future__ import annotations

from http import HTTPStatus
from pathlib import Path

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from mockserver import i18n
from mockserver.middleware import localized
from mockserver.responses import redirect
from mockserver.worldset import PREFIX_KEY


class SiteRoot:
    """``/`` redirects (302) to the reference server's start page, Swagger UI. Real
    deployments send it to their web UI instead (``site-root`` in the spec's
    ``x-deviations``)."""

    def __init__(self, app: ASGIApp, *, location: str) -> None:
        self.app, self.location = app, location

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") != "/":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        host = headers.get("host") or "{}:{}".format(*(scope.get("server") or ("127.0.0.1", 80)))
        prefix = scope.get(PREFIX_KEY, "")  # a named world's: /w/{name}
        url = f"{scope.get('scheme', 'http')}://{host}{prefix}{self.location}"
        response: Response = redirect(url, HTTPStatus.FOUND)
        language = i18n.negotiate(headers.get("accept-language"))
        await response(scope, receive, localized(send, language))


_MISS_PAGE = """<!DOCTYPE html>
<html>
<head><title>{status} {phrase}</title></head>
<body>
  <h1>{status} {phrase}</h1>
  <p>Not a page of the docs this server serves; they start at <a href="/docs/">/docs/</a>.</p>
</body>
</html>
"""


class DocsSite:
    """Serves a built docs site under ``prefix``, ahead of everything else.

    A miss is an HTML 404 (405 for a method other than GET and HEAD, with ``Allow``), never a
    server error: the files' own checks (no path out of the site, no symlink out of it) keep
    their answers.
    """

    def __init__(self, app: ASGIApp, *, directory: Path, prefix: str = "/docs") -> None:
        self.app, self.prefix = app, prefix
        self.files = StaticFiles(directory=directory, html=True)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not (
            path == self.prefix or path.startswith(self.prefix + "/")
        ):
            await self.app(scope, receive, send)
            return
        inner = {**scope, "root_path": scope.get("root_path", "") + self.prefix}
        try:
            await self.files(inner, receive, send)
        except HTTPException as exc:
            status = HTTPStatus(exc.status_code)
            headers = {"Allow": "GET, HEAD"} if status is HTTPStatus.METHOD_NOT_ALLOWED else None
            page = _MISS_PAGE.format(status=status.value, phrase=status.phrase)
            response = Response(page, status_code=status, headers=headers, media_type="text/html")
            await response(scope, receive, send)
