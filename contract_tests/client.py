"""The HTTP client of the named checks: one identity, paced, and every exchange kept for replay.

A :class:`Client` sends through any client with httpx's interface: an ``httpx.Client`` for a
deployment over the network, a Starlette ``TestClient`` (an httpx2 client) in-process. It never
follows redirects, since the trailing-slash check needs to see them. It reads the body as it
came and decodes it itself, so that an answer that is not what its headers say (a body
labelled gzip that is not, a doubled ``Date``) becomes a finding of the
``well-formed-answers`` rule, in the deployment's words, rather than a Python error.
"""

from __future__ import annotations

import json as jsonlib
import shlex
import time
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from functools import cached_property
from typing import Any, Protocol
from urllib.parse import urlencode, urlsplit

from contract_tests.pacing import ANONYMOUS, MAX_RETRIES, UNCOUNTED, Pacer

API_KEY_HEADER = "ES-API-KEY"
#: The environment variable a replayed request reads each identity's key from.
KEY_VARIABLES = {"user": "ESDC_API_KEY", "peer": "ESDC_PEER_API_KEY", "admin": "ESDC_ADMIN_API_KEY"}
#: Headers an answer may carry once only.
SINGLE_HEADERS = ("date", "content-type", "content-length", "content-encoding", "retry-after")
_MISSING: Any = object()


class Backend(Protocol):
    """What the client needs of an httpx-like client."""

    def build_request(
        self, method: str, url: str, *, content: bytes | None = ..., headers: Any = ...
    ) -> Any: ...

    def send(self, request: Any, *, stream: bool = ..., follow_redirects: bool = ...) -> Any: ...


def decode_body(raw: bytes, encoding: str | None) -> tuple[bytes, str | None]:
    """The body as its ``Content-Encoding`` says it is encoded, and what was wrong, if anything.

    A body that does not decode is kept as it came.
    """
    codings = [c.strip().lower() for c in (encoding or "").split(",") if c.strip()]
    body = raw
    for coding in reversed(codings):
        try:
            if coding in ("gzip", "x-gzip"):
                body = zlib.decompress(body, 16 + zlib.MAX_WBITS)
            elif coding == "deflate":
                try:
                    body = zlib.decompress(body)
                except zlib.error:
                    body = zlib.decompress(body, -zlib.MAX_WBITS)
            elif coding != "identity":
                return raw, f"the body is labelled Content-Encoding: {encoding}, an unknown coding"
        except zlib.error:
            return raw, (
                f"the body is labelled Content-Encoding: {encoding} but is not {coding} "
                f"({len(raw)} bytes starting {raw[:16]!r})"
            )
    return body, None


def header_problems(headers: Sequence[tuple[str, str]]) -> list[str]:
    """Headers sent twice that may be sent once, and a ``Date`` that is not a date."""
    problems = []
    for name in SINGLE_HEADERS:
        values = [v for k, v in headers if k.lower() == name]
        if len(values) > 1:
            problems.append(f"the {name} header is sent {len(values)} times: {values!r}")
        elif name == "date" and values and _http_date(values[0]) is None:
            problems.append(f"the Date header is not an HTTP date: {values[0]!r}")
    return problems


def _http_date(value: str) -> datetime | None:
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Exchange:
    """One request and its answer, as the checks saw them.

    :param header_list: the answer's headers as they came, repeats kept (lower-case names).
    :param problems: what makes the answer malformed (``well-formed-answers``).
    :param elapsed: seconds from sending the request to the end of the answer.
    """

    identity: str
    method: str
    url: str
    request_headers: dict[str, str] = field(repr=False)
    body: bytes | None = field(repr=False)
    status: int
    header_list: tuple[tuple[str, str], ...] = field(repr=False)
    text: str = field(repr=False)
    secret: str | None = field(default=None, repr=False)
    problems: tuple[str, ...] = field(default=(), repr=False)
    elapsed: float = 0.0

    @cached_property
    def headers(self) -> dict[str, str]:
        """The answer's headers by lower-case name; a repeated one reads as its first value."""
        found: dict[str, str] = {}
        for name, value in self.header_list:
            found.setdefault(name, value)
        return found

    @cached_property
    def _parsed(self) -> tuple[bool, Any]:
        try:
            return True, jsonlib.loads(self.text)
        except ValueError:
            return False, None

    @property
    def is_json(self) -> bool:
        return self._parsed[0]

    def json(self) -> Any:
        """The parsed body, or ``None`` if it is not JSON."""
        return self._parsed[1]

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    @property
    def path(self) -> str:
        return urlsplit(self.url).path

    @property
    def query(self) -> str:
        return urlsplit(self.url).query

    @property
    def date(self) -> datetime | None:
        """The server's time from the ``Date`` header, if it sent exactly one that parses."""
        values = [v for k, v in self.header_list if k == "date"]
        return _http_date(values[0]) if len(values) == 1 else None

    @property
    def detail(self) -> Any:
        """The ``detail`` of a JSON object body, or ``None``."""
        body = self.json()
        return body.get("detail") if isinstance(body, dict) else None

    def summary(self, limit: int = 300) -> str:
        """``GET /api/task/ as user → 403 {"detail": ...}``."""
        body = " ".join(self.text.split())
        if len(body) > limit:
            body = body[:limit] + "…"
        where = self.path + (f"?{self.query}" if self.query else "")
        who = self.identity
        if who == ANONYMOUS and "Authorization" in self.request_headers:
            who = "a token"
        return f"{self.method} {where} as {who} → {self.status} {body}"

    def curl(self) -> str:
        """A curl command that sends the same request; API keys are read from the environment."""
        parts = ["curl", "-i", "-X", self.method]
        for name, value in self.request_headers.items():
            if self.secret and self.secret in value:
                variable = KEY_VARIABLES.get(self.identity, "ESDC_API_KEY")
                parts.append(f'-H "{name}: {value.replace(self.secret, "$" + variable)}"')
            else:
                parts += ["-H", shlex.quote(f"{name}: {value}")]
        if self.body:
            parts += ["--data-binary", shlex.quote(self.body.decode("utf-8", "replace"))]
        parts.append(shlex.quote(self.url))
        return " ".join(parts)


@dataclass(frozen=True)
class _Raw:
    """An answer as read off the wire, before the checks see it."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    elapsed: float

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k == name), None)


class Client:
    """Requests to the API as one identity.

    :param base_url: the API's base URL (``https://host/api``); request paths are relative to it.
    :param identity: ``user``, ``peer``, ``admin`` or ``anonymous``; names the key in replays.
    :param api_key: sent as ``ES-API-KEY``; ``None`` sends no credentials.
    :param on_exchange: called with every exchange (the run's ledger records them).
    """

    def __init__(
        self,
        backend: Backend,
        base_url: str,
        *,
        identity: str,
        api_key: str | None,
        pacer: Pacer,
        on_exchange: Callable[[Exchange], None] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.backend = backend
        self.base_url = base_url.rstrip("/")
        self.identity = identity
        self.api_key = api_key
        self.pacer = pacer
        self.on_exchange = on_exchange
        #: Headers every request of this client sends (the control API's token).
        self.headers = dict(headers or {})

    def __repr__(self) -> str:
        return f"Client({self.identity!r}, {self.base_url!r})"

    def url(self, path: str) -> str:
        return path if "://" in path else self.base_url + path

    #: paths under the API that need no credentials, so that the anonymous rate counts them
    public_paths: tuple[str, ...] = ("/accounts/login/",)

    def throttled_anonymously(self, method: str, url: str) -> bool:
        path = urlsplit(url).path
        return any(path.endswith(public) for public in self.public_paths) or "/control/" in path

    def _send(
        self, method: str, url: str, content: bytes | None, headers: Mapping[str, str]
    ) -> _Raw:
        started = time.monotonic()
        request = self.backend.build_request(method, url, content=content, headers=dict(headers))
        response = self.backend.send(request, stream=True, follow_redirects=False)
        try:
            raw = b"".join(response.iter_raw())
        finally:
            response.close()
        items = tuple((str(k).lower(), str(v)) for k, v in response.headers.multi_items())
        return _Raw(int(response.status_code), items, raw, time.monotonic() - started)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | Sequence[tuple[str, Any]] | None = None,
        json: Any = _MISSING,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        retries: int = MAX_RETRIES,
    ) -> Exchange:
        """Send a request and return the exchange; never raises for an HTTP status.

        :param params: the query, as a mapping or as pairs (to repeat a parameter); ``None``
            values are left out.
        :param retries: how often a 429 is waited out; after the last the check is skipped as
            throttled (:class:`~contract_tests.errors.KeptThrottling`). ``0`` returns the 429.
        """
        sent: dict[str, str] = {"Accept": "application/json", **self.headers}
        if self.api_key is not None:
            sent[API_KEY_HEADER] = self.api_key
        if json is not _MISSING:
            content = jsonlib.dumps(json).encode()
            sent["Content-Type"] = "application/json"
        sent.update(headers or {})
        url = self.url(path)
        if params:
            pairs = params.items() if isinstance(params, Mapping) else params
            query = urlencode([(k, v) for k, v in pairs if v is not None])
            url += ("&" if "?" in url else "?") + query
        identity = (
            self.identity
            if (self.api_key or "authorization" in {h.lower() for h in sent})
            else ANONYMOUS
        )
        if identity == ANONYMOUS and not self.throttled_anonymously(method, url):
            # credentials are checked before the throttle: a request refused for want of
            # them is not counted against the anonymous rate (the auth-before-throttle rule)
            identity = UNCOUNTED
        raw = self.pacer.send(
            identity,
            lambda: self._send(method, url, content, sent),
            status=lambda r: r.status,
            retry_after=lambda r: r.header("retry-after"),
            text=lambda r: decode_body(r.body, r.header("content-encoding"))[0].decode(
                "utf-8", "replace"
            ),
            what=f"{method} {urlsplit(url).path}",
            retries=retries,
            give_up=retries > 0,
        )
        body, problem = decode_body(raw.body, raw.header("content-encoding"))
        problems = header_problems(raw.headers) + ([problem] if problem else [])
        exchange = Exchange(
            identity=self.identity,
            method=method,
            url=url,
            request_headers=sent,
            body=content,
            status=raw.status,
            header_list=raw.headers,
            text=body.decode("utf-8", "replace"),
            secret=self.api_key,
            problems=tuple(problems),
            elapsed=raw.elapsed,
        )
        if self.on_exchange is not None:
            self.on_exchange(exchange)
        return exchange

    def get(self, path: str, **params: Any) -> Exchange:
        return self.request("GET", path, params=params)

    def put(self, path: str, *, json: Any = _MISSING) -> Exchange:
        return self.request("PUT", path, json=json)

    def post(self, path: str, *, json: Any = _MISSING) -> Exchange:
        return self.request("POST", path, json=json)

    def delete(self, path: str, *, json: Any = _MISSING) -> Exchange:
        return self.request("DELETE", path, json=json)

    def with_key(self, identity: str, api_key: str | None) -> Client:
        """The same target as another identity."""
        return Client(
            self.backend,
            self.base_url,
            identity=identity,
            api_key=api_key,
            pacer=self.pacer,
            on_exchange=self.on_exchange,
        )
