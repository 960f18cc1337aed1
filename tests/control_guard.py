"""The control API's protection as issue 12 plans it, put in front of a reference server by a
test: a control call that changes something must come as JSON (a cross-site form cannot), and
with the token in ``ESDC-Control`` when there is one. It notes what it refused, so that a test
of the control page or of the docs' examples sees each call a guarded server would refuse."""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import Receive, Scope, Send

from mockserver import ReferenceServer

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class Guard:
    def __init__(self, app: ReferenceServer, token: str | None = None) -> None:
        self.app, self.token = app, token
        self.refused: list[str] = []

    def __getattr__(self, name: str) -> object:  # the server's own attributes, for the tests
        return getattr(self.app, name)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and "/control/" in scope["path"]
            and scope["method"] not in SAFE_METHODS
        ):
            headers = Headers(scope=scope)
            json_body = headers.get("content-type", "").startswith("application/json")
            token = self.token is None or headers.get("esdc-control") == self.token
            if not (json_body and token):
                self.refused.append(f"{scope['method']} {scope['path']}")
                wanted = "JSON" + ("" if self.token is None else " and ESDC-Control")
                detail = f"A control call that changes something needs {wanted}"
                await JSONResponse({"detail": detail}, status_code=403)(scope, receive, send)
                return
        await self.app(scope, receive, send)
