"""What the reference server answers at its root, outside the API's paths."""

from __future__ import annotations

from http import HTTPStatus

from starlette.datastructures import Headers
from starlette.responses import Response
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
