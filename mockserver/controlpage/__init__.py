"""The control page: the control API in a browser, at ``/control/`` (and a named world's).

Three static files, written by hand and served as they are (no build step): ``index.html``,
``page.js`` and ``page.css``. ``GET /control/`` answers with the page to a browser (an
``Accept`` that asks for HTML and not for JSON) and with the overview's JSON to everyone
else; the page calls the control API only, from where it was loaded, so that it works under
``/w/{name}/control/`` too.
"""

from __future__ import annotations

import functools
from importlib import resources

from starlette.responses import Response

#: The page's files and their media types.
FILES = {
    "index.html": "text/html; charset=utf-8",
    "page.js": "text/javascript; charset=utf-8",
    "page.css": "text/css; charset=utf-8",
}
#: The page loads nothing but its own files and talks to nothing but its own server.
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "img-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-cache",
}


def wants_page(accept: str | None) -> bool:
    """Whether an ``Accept`` header is a browser's asking for a page (``fetch`` and ``curl``
    send ``*/*``, and get JSON)."""
    value = (accept or "").lower()
    return "text/html" in value and "application/json" not in value


@functools.cache
def _content(name: str) -> bytes:
    return resources.files(__package__).joinpath(name).read_bytes()


def page_file(name: str) -> Response | None:
    """One of the page's files, or ``None`` for a name that is none of them."""
    media = FILES.get(name)
    if media is None:
        return None
    return Response(_content(name), media_type=media, headers=HEADERS)
