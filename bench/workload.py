"""What is measured: the request types both servers get, and what each must answer."""

from __future__ import annotations

from dataclasses import dataclass
from http import HTTPStatus

#: A task of the demo world that succeeded; the spec's examples name it too.
SUCCEEDED = "3e3d1-8c2f4a17-5b3e-4d21-a9f0"


@dataclass(frozen=True)
class RequestType:
    """One kind of request: a GET of ``path`` (under the server's base URL)."""

    name: str
    path: str
    expected: HTTPStatus = HTTPStatus.OK


REQUEST_TYPES = (
    RequestType("task list", "/api/task/"),
    RequestType("status", f"/api/task/{SUCCEEDED}/status/"),
    RequestType("done", f"/api/task/{SUCCEEDED}/done/"),
    RequestType("log page", "/api/task/log/?page=1"),
    RequestType("last-10 log", "/api/task/log/"),
    RequestType("stats", "/api/task/log/stats/"),
)

#: The filters of the filtered log pages at scale, which the server must apply while it seeks.
#: They keep over a thousand entries of the smallest log, so that its middle page is a seek
#: too (with status=FAILURE it was page 1, which needs none).
LOG_FILTERS = "status=SUCCESS&object_type=vm&hide_auto=true"
