"""A small Starlette app that answers the way the Danube Cloud API does, for testing ``es``.

It is not the reference server: it has one route per kind of answer es must handle, and
``/api/echo/`` answers with exactly what es sent, so tests can check the request byte for byte.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import (
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Route

TASK_IDS = ["1e1d1-6f75849b-5b1d-4fd3-9e9c", "1e1d1-4b48594c-2d77-4b72-a1e1"]
USERNAME, PASSWORD = "alice", "alice-password"
TOKEN = "3f1b2c9d8e7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c"
TOKENLESS_USER = "tokenless"
HELP_TEXT = "List the ids of your running tasks."
TASK_LOG = [
    {"time": "2026-11-02T10:00:00.000000+00:00", "status": "SUCCESS", "task": TASK_IDS[0]},
    {"time": "2026-11-02T10:05:00.000000+00:00", "status": "FAILURE", "task": TASK_IDS[1]},
]


async def task_list(request: Request) -> Response:
    if request.method == "OPTIONS":
        return JSONResponse({"name": "Task List", "description": HELP_TEXT})
    return JSONResponse(TASK_IDS)


async def task_status(request: Request) -> Response:
    task_id = request.path_params["task_id"]
    return JSONResponse({"status": "PENDING", "result": None, "task_id": task_id}, 201)


async def task_cancel(request: Request) -> Response:
    task_id = request.path_params["task_id"]
    return JSONResponse({"status": "REVOKED", "result": "terminated", "task_id": task_id}, 410)


async def task_log(request: Request) -> Response:
    return JSONResponse({"results": TASK_LOG})


async def echo(request: Request) -> Response:
    """What es sent: method, raw query string, headers (lower-cased names) and body."""
    body = await request.body()
    return JSONResponse(
        {
            "method": request.method,
            "path": request.url.path,
            "query": request.url.query,
            "headers": dict(request.headers),
            "body": body.decode(),
        }
    )


def status_answer(status: int, detail: str) -> Route:
    async def answer(request: Request) -> Response:
        return JSONResponse({"detail": detail}, status)

    return Route(f"/api/status/{status}/", answer, methods=["GET", "POST", "PUT", "DELETE"])


async def server_error(request: Request) -> Response:
    return PlainTextResponse("Server Error", 500)


async def not_json(request: Request) -> Response:
    # Danube Cloud's 404 page: plain text, labelled as JSON.
    return Response("Resource not found", 200, media_type="application/json")


async def moved(request: Request) -> Response:
    return RedirectResponse("/api/task/", 301)


async def login(request: Request) -> Response:
    credentials = await request.json()
    if credentials == {"username": TOKENLESS_USER, "password": PASSWORD}:
        return JSONResponse({"detail": "Welcome to Danube Cloud API."})
    if credentials != {"username": USERNAME, "password": PASSWORD}:
        return JSONResponse({"detail": "Unable to log in with provided credentials."}, 400)
    return JSONResponse(
        {
            "token": TOKEN,
            "expires": "2026-11-02T11:00:00+00:00",
            "detail": "Welcome to Danube Cloud API.",
        }
    )


async def logout(request: Request) -> Response:
    if request.headers.get("authorization") != f"Token {TOKEN}":
        return JSONResponse({"detail": "Authentication credentials were not provided."}, 403)
    return JSONResponse({"detail": "Bye."})


async def streamed_task(request: Request) -> Response:
    """A task-creating call as APISyncMiddleware streams it: spaces, then status and body."""

    async def chunks() -> AsyncIterator[bytes]:
        yield b" "
        yield b"  "
        yield b'200\n{"status": "SUCCESS", "result": {"done": true}}'

    headers = {"es_stream": "1", "es_task_id": TASK_IDS[0]}
    return StreamingResponse(chunks(), 201, headers=headers, media_type="application/json")


def create_app() -> Starlette:
    """The fake API, mounted under ``/api`` as Danube Cloud mounts its own."""
    return Starlette(
        routes=[
            Route("/api/task/", task_list, methods=["GET", "OPTIONS"]),
            Route("/api/task/log/", task_log),
            Route("/api/task/{task_id}/status/", task_status),
            Route("/api/task/{task_id}/cancel/", task_cancel, methods=["PUT"]),
            *(
                # Also without the slash, to show a URL that es sent without one.
                Route(path, echo, methods=["GET", "POST", "PUT", "DELETE", "OPTIONS"])
                for path in ("/api/echo/", "/api/echo")
            ),
            *(
                status_answer(status, detail)
                for status, detail in [
                    (400, "Bad Request"),
                    (403, "Permission denied"),
                    (404, "Task does not exist (anymore)"),
                    (406, "Task cannot be canceled"),
                    (410, "Gone"),
                ]
            ),
            Route("/api/status/500/", server_error),
            Route("/api/not-json/", not_json),
            Route("/api/moved/", moved),
            Route("/api/accounts/login/", login, methods=["POST"]),
            Route("/api/accounts/logout/", logout),
            Route("/api/vm/stream/", streamed_task, methods=["POST"]),
        ]
    )
