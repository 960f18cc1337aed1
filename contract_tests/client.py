"""The HTTP client of the named checks: one identity, paced, and every exchange kept for replay.

A :class:`Client` sends through any client with httpx's interface: an ``httpx.Client`` for a
deployment over the network, a Starlette ``TestClient`` (an httpx2 client) in-process. It never
follows redirects, since the trailing-slash check needs to see them.
"""

from __future__ import annotations

import json as jsonlib
import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parsedate_to_datetime
from functools import cached_property
from typing import Any, Protocol
from urllib.parse import urlencode, urlsplit

from contract_tests.pacing import ANONYMOUS, Pacer

API_KEY_HEADER = "ES-API-KEY"
#: The environment variable a replayed request reads each identity's key from.
KEY_VARIABLES = {"user": "ESDC_API_KEY", "peer": "ESDC_PEER_API_KEY", "admin": "ESDC_ADMIN_API_KEY"}
_MISSING: Any = object()


class BackendResponse(Protocol):
    @property
    def status_code(self) -> int: ...
    @property
    def headers(self) -> Mapping[str, str]: ...
    @property
    def text(self) -> str: ...


class Backend(Protocol):
    """What the client needs of an httpx-like client."""

    def request(
        self,
        method: str,
        url: str,
        *,
        content: bytes | None = ...,
        params: Any = ...,
        headers: Any = ...,
        follow_redirects: bool = ...,
    ) -> Any: ...


@dataclass(frozen=True)
class Exchange:
    """One request and its answer, as the checks saw them."""

    identity: str
    method: str
    url: str
    request_headers: dict[str, str] = field(repr=False)
    body: bytes | None = field(repr=False)
    status: int
    headers: dict[str, str] = field(repr=False)  # lower-cased names
    text: str = field(repr=False)
    secret: str | None = field(default=None, repr=False)

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
    def date(self) -> datetime | None:
        """The server's time from the ``Date`` header, if it sent one."""
        value = self.header("date")
        try:
            return parsedate_to_datetime(value) if value else None
        except (TypeError, ValueError):
            return None

    def summary(self, limit: int = 300) -> str:
        """``GET /api/task/ as user → 403 {"detail": ...}``."""
        body = " ".join(self.text.split())
        if len(body) > limit:
            body = body[:limit] + "…"
        target = urlsplit(self.url)
        where = target.path + (f"?{target.query}" if target.query else "")
        return f"{self.method} {where} as {self.identity} → {self.status} {body}"

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
    ) -> None:
        self.backend = backend
        self.base_url = base_url.rstrip("/")
        self.identity = identity
        self.api_key = api_key
        self.pacer = pacer
        self.on_exchange = on_exchange

    def __repr__(self) -> str:
        return f"Client({self.identity!r}, {self.base_url!r})"

    def url(self, path: str) -> str:
        return path if "://" in path else self.base_url + path

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = _MISSING,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Exchange:
        """Send a request and return the exchange; never raises for an HTTP status."""
        sent: dict[str, str] = {"Accept": "application/json"}
        if self.api_key is not None:
            sent[API_KEY_HEADER] = self.api_key
        if json is not _MISSING:
            content = jsonlib.dumps(json).encode()
            sent["Content-Type"] = "application/json"
        sent.update(headers or {})
        url = self.url(path)
        if params:
            url += ("&" if "?" in url else "?") + urlencode(
                {k: v for k, v in params.items() if v is not None}
            )
        identity = (
            self.identity
            if (self.api_key or "authorization" in {h.lower() for h in sent})
            else ANONYMOUS
        )

        def send() -> Any:
            return self.backend.request(
                method, url, content=content, headers=sent, follow_redirects=False
            )

        response = self.pacer.send(
            identity,
            send,
            status=lambda r: int(r.status_code),
            retry_after=lambda r: r.headers.get("retry-after"),
            what=f"{method} {urlsplit(url).path}",
        )
        exchange = Exchange(
            identity=self.identity,
            method=method,
            url=url,
            request_headers=sent,
            body=content,
            status=int(response.status_code),
            headers={k.lower(): v for k, v in response.headers.items()},
            text=response.text,
            secret=self.api_key,
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
