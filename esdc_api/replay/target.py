"""The server a replay talks to, and its control API when it has one.

A target is an ``httpx.AsyncClient`` and a base URL: the reference server in-process (through
``httpx.ASGITransport``, with the world loaded by its settings), a reference server over HTTP,
or any deployment. Requests go out as recorded: the request target byte for byte (its
percent-encoding kept), the headers in their order with the recorded ``Host`` (so absolute URLs
in the answers name the recorded host), and nothing httpx would add on its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from esdc_api.replay.answer import Answer
from esdc_api.replay.errors import TargetError
from esdc_api.replay.world import World

#: Headers of a connection, not of a request: httpx writes them (Content-Length from the body).
HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-connection", "transfer-encoding",
                        "te", "trailer", "upgrade", "content-length"})  # fmt: skip
#: Time allowed for one answer; a cancel waits a second on a real deployment.
TIMEOUT = 60.0
#: The header the reference server's control API takes its token in (mockserver/guard.py).
CONTROL_HEADER = "ESDC-Control"
#: The base URL of an in-process target's control API (the host does not matter there).
IN_PROCESS = "http://127.0.0.1"


class Control:
    """The reference server's control API (``/control/``), as the replay uses it."""

    def __init__(self, client: httpx.AsyncClient, base: str, token: str | None = None) -> None:
        self.client = client
        self.base = base + "/control"
        #: Sent with every call: the token of a server started with ``--control-token``.
        self.headers = {} if token is None else {CONTROL_HEADER: token}

    async def available(self) -> bool:
        """Whether the target has a control API at all (a real deployment has none)."""
        try:
            answer = await self.client.get(self.base + "/clock/", headers=self.headers)
        except httpx.TransportError as exc:
            raise TargetError(f"cannot reach {self.base.removesuffix('/control')}: {exc}") from exc
        if answer.status_code == 401 and CONTROL_HEADER.lower() in (
            answer.headers.get("www-authenticate", "").lower()
        ):
            raise TargetError(
                f"the control API at {self.base} wants its token"
                + (" and refused the one given" if self.headers else "")
                + ": pass the one 'esdc-api serve' printed or was given with --control-token "
                "(or set ESDC_SERVE_CONTROL_TOKEN)"
            )
        if answer.status_code != 200:
            return False
        try:
            return "now" in answer.json()
        except ValueError:
            return False

    async def _call(self, method: str, path: str, purpose: str, **kwargs: Any) -> Any:
        kwargs["headers"] = {**self.headers, **kwargs.get("headers", {})}
        try:
            answer = await self.client.request(method, self.base + path, **kwargs)
        except httpx.HTTPError as exc:
            raise TargetError(f"{method} {self.base}{path} ({purpose}) failed: {exc}") from exc
        if not answer.is_success:
            try:
                detail = answer.json().get("detail", answer.text)
            except (ValueError, AttributeError):
                detail = answer.text
            raise TargetError(
                f"the control API answered {method} {self.base}{path} with {answer.status_code}"
                f" ({str(detail).strip()[:300]}); the replay needs it to {purpose}"
            )
        return answer.json() if answer.content else None

    async def freeze(self) -> None:
        await self._call("POST", "/clock/freeze/", "stop the clock")

    async def load_world(self, world: World, at: datetime) -> None:
        await self._call(
            "PUT",
            "/world/",
            "load the world the transcript was recorded in",
            params={"at": at.isoformat()},
            content=world.as_json().encode(),
            headers={"Content-Type": "application/json"},
        )

    async def set_clock(self, at: datetime) -> None:
        await self._call(
            "POST", "/clock/set/", "move the clock to the next exchange's moment",
            json={"at": at.isoformat(), "scale": 0},
        )  # fmt: skip

    async def throttle_on_server_clock(self) -> None:
        await self._call(
            "PUT", "/throttle/", "count throttle windows on the server's clock",
            json={"enabled": True, "clock": "server"},
        )  # fmt: skip

    async def reset_throttle(self) -> None:
        await self._call("POST", "/throttle/reset/", "clear the throttle's counters")

    async def set_workers(self, mgmt: bool) -> None:
        state = "start" if mgmt else "stop"
        await self._call(
            "PUT", "/workers/", f"{state} the mgmt worker", json={"mgmt": {"running": mgmt}}
        )

    async def publish(self, task_id: str, eta: str | None, expires: str | None) -> None:
        message = {k: v for k, v in (("eta", eta), ("expires", expires)) if v is not None}
        await self._call(
            "POST", f"/tasks/{task_id}/message/", f"publish the message of task {task_id}",
            json=message,
        )  # fmt: skip


class Target:
    """Where a replay sends its requests.

    :param base: the URL the recorded request targets (``/api/...``) are appended to;
        ``None`` in-process, where each request goes to the host its ``Host`` header names.
    :param world_loaded: the server already holds the world at its seed, frozen.
    :param host: the ``Host`` to send instead of the recorded one (``None``: as recorded).
    """

    def __init__(
        self, client: httpx.AsyncClient, base: str | None, label: str, *,
        world_loaded: bool = False, host: str | None = None, control_token: str | None = None,
    ) -> None:  # fmt: skip
        self.client = client
        self.base = None if base is None else base.rstrip("/")
        self.label = label
        self.world_loaded = world_loaded
        self.host = host
        self.control = Control(client, self.base or IN_PROCESS, control_token)

    def __repr__(self) -> str:
        return f"Target({self.label!r})"

    @classmethod
    def asgi(cls, app: Any, label: str = "in-process", *, world_loaded: bool = False) -> Target:
        """An ASGI application in this process (the reference server, or a test's fake)."""
        transport = httpx.ASGITransport(app=app)
        client = httpx.AsyncClient(transport=transport, timeout=TIMEOUT)
        return cls(client, None, label, world_loaded=world_loaded)

    @classmethod
    def reference(cls, world: World, at: datetime) -> Target:
        """The reference server in-process, started with ``world`` at ``at``, frozen."""
        from mockserver import Settings, create_app

        settings = Settings(world=world.path, start=at, scale=0, throttle=True)
        label = "the reference server in-process"
        return cls.asgi(create_app(settings), label, world_loaded=True)

    @classmethod
    def url(
        cls, url: str, *, rewrite_host: bool = False, world_loaded: bool = False,
        verify: bool = True, control_token: str | None = None,
    ) -> Target:  # fmt: skip
        """A server over HTTP; a trailing ``/api`` of the URL is dropped (targets hold it).

        :param rewrite_host: send the URL's host instead of the recorded ``Host``.
        :param world_loaded: the server was started with the world, at its seed, frozen.
        :param verify: check the server's TLS certificate.
        :param control_token: the token its control API wants (``esdc-api serve
            --control-token``), sent as ``ESDC-Control``.
        """
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise TargetError(f"{url!r} is not an http:// or https:// URL")
        base = url.rstrip("/")
        base = base[: -len("/api")] if base.endswith("/api") else base
        client = httpx.AsyncClient(timeout=TIMEOUT, follow_redirects=False, verify=verify)
        host = parts.netloc if rewrite_host else None
        return cls(
            client, base, base, host=host, world_loaded=world_loaded, control_token=control_token
        )

    @property
    def origin(self) -> str | None:
        """``scheme://host`` of the target when the recorded ``Host`` is not sent."""
        if self.base is None or self.host is None:
            return None
        return f"{urlsplit(self.base).scheme}://{self.host}"

    async def send(
        self, method: str, target: str, headers: Sequence[tuple[str, str]], body: str | None
    ) -> Answer:
        """Send one request as recorded and return the answer."""
        content = None if body is None else body.encode("utf-8")
        sent = [(k, v) for k, v in headers if k.lower() not in HOP_BY_HOP]
        if self.host is not None:
            sent = [(k, self.host if k.lower() == "host" else v) for k, v in sent]
        if content is not None:
            sent.append(("Content-Length", str(len(content))))
        base = self.base
        if base is None:  # in-process: the ASGI scope's server is then the recorded host
            base = "http://" + next((v for k, v in sent if k.lower() == "host"), "127.0.0.1")
        request = self.client.build_request(method, base + target, content=content)
        request.headers = httpx.Headers(sent)  # only what was recorded, not httpx's defaults
        try:
            answer = await self.client.send(request)
        except httpx.HTTPError as exc:
            raise TargetError(f"{method} {base}{target} failed: {exc}") from exc
        return Answer(answer.status_code, list(answer.headers.multi_items()), answer.content)

    async def close(self) -> None:
        await self.client.aclose()
