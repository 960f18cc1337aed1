"""The answers of the task API as Danube Cloud renders them.

JSON is ``application/json`` without a charset, compact unless the ``Accept`` header asks for
an indent (:mod:`mockserver.negotiation`), with U+2028 and U+2029 escaped as real deployments
escape them. The answers Django itself gives (the redirect to the slashed URL, a URL no
endpoint matches, a server error) have its shapes: an empty ``text/html`` redirect, and the
404 and 500 texts labelled ``application/json`` although they are not JSON.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from starlette.responses import Response

from mockserver.errors import ApiError
from mockserver.i18n import ENGLISH, translate_body
from mockserver.negotiation import indent_of

JSON = "application/json"
HTML = "text/html; charset=utf-8"


def dumps(body: Any, indent: int | None = None) -> bytes:
    if indent is None:
        text = json.dumps(body, separators=(",", ":"), ensure_ascii=False)
    else:
        text = json.dumps(body, indent=indent, ensure_ascii=False)
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029").encode()


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


def error_response(exc: ApiError, accept: str | None, language: str = ENGLISH) -> Response:
    """A domain error in the real API's shape, its messages in ``language``."""
    return Response(
        dumps(translate_body(exc.body(), language), indent_of(accept)),
        status_code=int(exc.status),
        headers=exc.headers(),
        media_type=JSON,
    )


def server_error() -> Response:
    """What an unexpected exception gets (it is logged where it is caught): Django's text,
    labelled JSON as real deployments label it."""
    return Response(b"Server Error", status_code=HTTPStatus.INTERNAL_SERVER_ERROR, media_type=JSON)


def not_routed() -> Response:
    """What a URL under ``/api/`` that no endpoint matches gets: plain text labelled JSON."""
    return Response(b"Resource not found", status_code=HTTPStatus.NOT_FOUND, media_type=JSON)


def redirect(url: str, status: HTTPStatus = HTTPStatus.MOVED_PERMANENTLY) -> Response:
    """Django's redirect: an empty ``text/html`` body and ``Location``."""
    return Response(b"", status_code=int(status), headers={"Location": url}, media_type=HTML)


_NOT_FOUND_PAGE = b"""<!DOCTYPE html>
<html>
<head><title>Not found (404)</title></head>
<body>
  <h1>404</h1>
  <p>This is not a page of the task API reference server. The API is under
  <a href="/api/ui/">/api/</a>; the control API under <a href="/control/ui/">/control/</a>.</p>
</body>
</html>
"""


def html_not_found() -> Response:
    """The HTML 404 of a URL outside the API's URLs (``/api`` without its slash). Real
    deployments show their web UI's page; this one is ours (``api-html-404`` in the spec's
    ``x-deviations``)."""
    return Response(_NOT_FOUND_PAGE, status_code=HTTPStatus.NOT_FOUND, media_type=HTML)
