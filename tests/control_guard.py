"""The control API's protection as issue 12 plans it, put in front of a reference server by a
test: with a token, every control request but the control page's own files must carry it in
``ESDC-Control`` (401), and a control call that changes something must come as JSON, which a
cross-site form cannot send (403). It notes what it refused, so that a test of the control page
or of the docs' examples sees each call a guarded server would refuse."""

from __future__ import annotations

from http import HTTPStatus

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import Receive, Scope, Send

from mockserver import ReferenceServer
from mockserver.controlpage import wants_page

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class Guard:
    def __init__(self, app: ReferenceServer, token: str | None = None) -> None:
        self.app, self.token = app, token
        self.refused: list[str] = []

    def __getattr__(self, name: str) -> object:  # the server's own attributes, for the tests
        return getattr(self.app, name)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and "/control/" in path:
            headers = Headers(scope=scope)
            page = scope["method"] == "GET" and (
                "/control/page/" in path
                or (path.endswith("/control/") and wants_page(headers.get("accept")))
            )
            refusal = None
            if self.token is not None and not page and headers.get("esdc-control") != self.token:
                refusal = HTTPStatus.UNAUTHORIZED, "send the server's token in ESDC-Control"
            elif scope["method"] not in SAFE_METHODS and not headers.get(
                "content-type", ""
            ).startswith("application/json"):
                refusal = HTTPStatus.FORBIDDEN, "a change must be sent as JSON"
            if refusal is not None:
                self.refused.append(f"{scope['method']} {path}")
                status, detail = refusal
                await JSONResponse({"detail": detail}, status_code=status)(scope, receive, send)
                return
        await self.app(scope, receive, send)
