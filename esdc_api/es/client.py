"""The one HTTP exchange of a run of ``es``, over a client given to it.

The client is a parameter so that the same code talks to a real deployment over the network or
to an ASGI app in-process. Any client with httpx's interface works: an :class:`httpx.Client`,
or an ``httpx2.Client``, which is what :class:`starlette.testclient.TestClient` is once the
``httpx2`` package is installed (Starlette 1.x prefers it). So this module uses only what the
two share (:class:`HTTPClient`), never one library's own objects or sentinels.

Redirects are never followed: a 301 is an answer like any other, as in the original.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Protocol, TypeVar
from urllib.parse import urlencode

from esdc_api.es.errors import RequestFailed


class Headers(Protocol):
    """HTTP headers as httpx and httpx2 hold them."""

    @property
    def raw(self) -> list[tuple[bytes, bytes]]: ...

    def get(self, key: str, /) -> str | None: ...


class Request(Protocol):
    """A request as httpx and httpx2 build it."""

    @property
    def method(self) -> str: ...

    @property
    def url(self) -> object: ...

    @property
    def headers(self) -> Headers: ...


class Response(Protocol):
    """A response as httpx and httpx2 return it."""

    @property
    def status_code(self) -> int: ...

    @property
    def url(self) -> object: ...

    @property
    def headers(self) -> Headers: ...

    @property
    def request(self) -> Request: ...

    def read(self) -> bytes: ...

    def iter_bytes(self, chunk_size: int | None = None) -> Iterator[bytes]: ...

    def close(self) -> None: ...


RequestT = TypeVar("RequestT", bound=Request)


class HTTPClient(Protocol[RequestT]):
    """What es needs of a client: ``httpx.Client`` and ``httpx2.Client`` both have it."""

    def build_request(
        self,
        method: str,
        url: str,
        *,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float = ...,
    ) -> RequestT: ...

    def send(
        self, request: RequestT, *, stream: bool = False, follow_redirects: bool = ...
    ) -> Response: ...


#: The version of Danube Cloud's ``es`` whose behaviour this client keeps; sent as User-Agent.
ES_VERSION = "1.3.3"

BASE_HEADERS: Mapping[str, str] = {
    "User-Agent": f"es/{ES_VERSION}",
    "Accept": "application/json; indent=4",
    "Content-Type": "application/json; indent=4",
    # Asks the API to stream a task-creating call until the task is done (see _read_stream).
    "ES-STREAM": "es",
}


@dataclasses.dataclass(frozen=True)
class Reply:
    """An answer of the API, as es shows it.

    :param text: the body parsed as JSON, or the body as a string when it is not JSON.
    :param is_json: whether ``text`` came from parsing JSON.
    """

    method: str
    url: str
    status: int
    text: Any
    is_json: bool = True
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    request_headers: dict[str, str] = dataclasses.field(default_factory=dict)


def request_headers(token: str | None, api_key: str | None) -> dict[str, str]:
    """The headers es sends: its own, then the login token and the API key when there are any."""
    headers = dict(BASE_HEADERS)
    if token:
        headers["Authorization"] = f"Token {token}"
    if api_key:
        headers["ES-API-KEY"] = api_key
    return headers


def build_request(
    client: HTTPClient[RequestT],
    method: str,
    url: str,
    params: Mapping[str, Any],
    *,
    in_query: bool,
    headers: Mapping[str, str],
    timeout: float | None,
) -> RequestT:
    """The request for ``url``, with ``params`` in its query string or as its JSON body.

    :param in_query: send the parameters in the query string (``get``, ``logout``), not the body.
    :param timeout: seconds to wait, or ``None`` to use the client's own timeout.
    """
    content = None
    if in_query:
        query = urlencode(query_pairs(params))
        if query:  # after a ?query written in the resource, if there is one
            url += ("&" if "?" in url else "?") + query
    else:
        content = json.dumps(params).encode()
    if timeout is None:
        return client.build_request(method, url, content=content, headers=headers)
    return client.build_request(method, url, content=content, headers=headers, timeout=timeout)


def query_pairs(params: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    """Parameters as query-string pairs, encoded as the original's python-requests did.

    Booleans become ``True``/``False`` (the API parses these), ``null`` leaves the parameter out,
    a list repeats the parameter once per item; an object is sent as JSON.
    """
    pairs: list[tuple[str, str]] = []
    for name, value in params.items():
        for item in value if isinstance(value, list) else [value]:
            if item is None:
                continue
            if isinstance(item, str):
                pairs.append((name, item))
            elif isinstance(item, bool | int | float):
                pairs.append((name, str(item)))
            else:
                pairs.append((name, json.dumps(item)))
    return tuple(pairs)


def send(
    client: HTTPClient[RequestT],
    request: RequestT,
    *,
    on_wait: Callable[[str], None],
) -> Reply:
    """Send ``request`` without following redirects and read the whole answer.

    :param on_wait: called with text for stderr while a streamed task answer is pending.
    :raises RequestFailed: if there is no HTTP answer.
    """
    url = str(request.url)
    try:
        response = client.send(request, stream=True, follow_redirects=False)
        try:
            if response.headers.get("es_stream"):
                status, body = _read_stream(response, on_wait)
            else:
                status, body = response.status_code, response.read()
        finally:
            response.close()
    except Exception as exc:  # as the original: any failure to get an answer exits 3
        raise _request_failed(url, exc) from exc
    text, is_json = _parse(body.decode("utf-8", errors="replace"))
    return Reply(
        method=request.method,
        url=str(response.url),
        status=status,
        text=text,
        is_json=is_json,
        headers=_as_dict(response.headers),
        request_headers=_as_dict(response.request.headers),
    )


def _request_failed(url: str, exc: Exception) -> RequestFailed:
    # By class name, so that httpx's and httpx2's exceptions (twin trees) are both recognised.
    kinds = {cls.__name__ for cls in type(exc).__mro__}
    if "TimeoutException" in kinds:
        return RequestFailed(
            f"no answer from {url!r} in time ({type(exc).__name__}); raise ES_TIMEOUT or retry"
        )
    if "ConnectError" in kinds:
        hint = "check ES_API_URL and that the API server is running"
        if "CERTIFICATE_VERIFY_FAILED" in str(exc):
            hint = "the certificate is not trusted; ES_SSL_VERIFY=0 skips the check"
        return RequestFailed(f"cannot connect to {url!r}: {_describe(exc)}; {hint}")
    return RequestFailed(f"request to {url!r} failed: {_describe(exc)}")


def _read_stream(response: Response, on_wait: Callable[[str], None]) -> tuple[int, bytes]:
    """Wait out a streamed task answer: spaces while pending, then ``<status>\\n<body>``.

    The API streams a task-creating call when asked with ``ES-STREAM`` (its ``APISyncMiddleware``),
    and es shows a dot per space on stderr, as the original did.
    """
    on_wait(f"Waiting for pending task {response.headers.get('es_task_id') or '?'} ")
    rest = bytearray()
    for chunk in response.iter_bytes():
        if not rest:
            waiting = len(chunk) - len(chunk.lstrip())
            on_wait("." * waiting)
            chunk = chunk[waiting:]
        rest.extend(chunk)
    on_wait("\n")
    first, _, body = bytes(rest).strip().partition(b"\n")
    try:
        return int(first), body
    except ValueError:
        on_wait(f"es: the stream ended without a final status ({bytes(first)[:40]!r})\n")
        return response.status_code, bytes(rest)


def _parse(body: str) -> tuple[Any, bool]:
    try:
        return json.loads(body), True
    except ValueError:
        return body, False


def _as_dict(headers: Headers) -> dict[str, str]:
    """Headers with their names spelled as sent; repeated ones joined as HTTP allows."""
    result: dict[str, str] = {}
    for raw_name, raw_value in headers.raw:
        name, value = raw_name.decode("latin-1"), raw_value.decode("latin-1")
        result[name] = f"{result[name]}, {value}" if name in result else value
    return result


def _describe(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
