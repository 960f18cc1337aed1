"""JSON answers as Danube Cloud renders them.

``application/json`` without a charset; ``Accept: application/json; indent=N`` pretty-prints
with N spaces (0 to 8), which is what the ``es`` client asks for.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from starlette.responses import Response

from mockserver.errors import ApiError

JSON = "application/json"
_INDENT = re.compile(r"application/json[^,]*?;\s*indent=(\d+)")


def indent_of(accept: str | None) -> int | None:
    """The indent the ``Accept`` header asks for, clamped to 0..8, or ``None``."""
    if not accept:
        return None
    match = _INDENT.search(accept)
    return None if match is None else min(int(match.group(1)), 8)


def dumps(body: Any, indent: int | None = None) -> bytes:
    if indent is None:
        return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    return json.dumps(body, indent=indent, ensure_ascii=False).encode()


def json_response(
    status: HTTPStatus | int,
    body: Any,
    *,
    accept: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    return Response(
        dumps(body, indent_of(accept)), status_code=int(status), headers=headers, media_type=JSON
    )


def rendered_response(
    status: HTTPStatus | int, head: dict[str, Any], key: str, items: list[str]
) -> Response:
    """Compact JSON of ``head`` with ``key`` added last, a list of items that are JSON
    already (entries the store rendered)."""
    body = dumps(head)[:-1] + (b"," if head else b"") + f'"{key}":['.encode()
    body += ",".join(items).encode() + b"]}"
    return Response(body, status_code=int(status), media_type=JSON)


def error_response(exc: ApiError, accept: str | None) -> Response:
    """A domain error in the real API's shape: its status, body and headers."""
    return Response(
        dumps(exc.body(), indent_of(accept)),
        status_code=int(exc.status),
        headers=exc.headers(),
        media_type=getattr(exc, "media_type", JSON),
    )


def server_error() -> Response:
    """What an unexpected exception gets (it is logged where it is caught)."""
    return Response(
        "Server Error", status_code=HTTPStatus.INTERNAL_SERVER_ERROR, media_type="text/plain"
    )


def not_routed() -> Response:
    """What a URL no endpoint matches gets: plain text (real deployments say it is JSON)."""
    return Response("Resource not found", status_code=HTTPStatus.NOT_FOUND, media_type="text/plain")
