"""The deployment under test: where it is, how to reach it, and what it lets the suite do.

Three kinds of target:

- the reference server **in-process** (no URL given), or any ASGI app named with
  ``--esdc-app`` that offers the reference server's control API;
- a **reference server over HTTP** (``--esdc-reference``): the suite creates its own tasks
  through ``/control/`` and may cancel them;
- a **deployment**: read-only, except for the tasks named with ``--esdc-allow-cancel``.
"""

from __future__ import annotations

import importlib
import inspect
import ipaddress
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from contract_tests.client import Backend, Client, Exchange
from contract_tests.errors import TargetError
from contract_tests.pacing import Pacer

#: The header the reference server's control API takes its token in (``esdc-api serve
#: --control-token``; mockserver/guard.py).
CONTROL_HEADER = "ESDC-Control"

IN_PROCESS_URL = "http://testserver"
#: The demo accounts of the reference server, used when no keys are given in-process.
DEMO_KEYS = {"user": "demo-alice-key", "peer": "demo-bob-key", "admin": "demo-admin-key"}


def load_app(path: str) -> Any:
    """The ASGI app ``MODULE:NAME`` names; a plain function is called to build it."""
    module_name, _, attr = path.partition(":")
    if not module_name or not attr:
        raise TargetError(f"--esdc-app wants MODULE:NAME, not {path!r}")
    try:
        found = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise TargetError(f"--esdc-app {path!r}: {exc}") from exc
    return found() if inspect.isfunction(found) else found


def reference_app() -> Any:
    """The reference server with its demo world, unthrottled (nothing to pace in-process)."""
    from mockserver import Settings, create_app

    return create_app(Settings(throttle=False))


def is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass
class Target:
    """Where the API under test is.

    :param base_url: the API's base URL including its path (``https://host/api``).
    :param app: the ASGI app, for an in-process target.
    :param reference: whether the target offers the reference server's control API.
    :param control_token: what the reference server's control API wants in ``ESDC-Control``
        (``esdc-api serve --control-token``); ``None`` sends none.
    """

    base_url: str
    app: Any = None
    reference: bool = False
    description: str = ""
    control_token: str | None = field(default=None, repr=False)
    _backend: Any = field(default=None, repr=False)

    @classmethod
    def in_process(cls, app: Any, description: str) -> Target:
        return cls(f"{IN_PROCESS_URL}/api", app=app, reference=True, description=description)

    @classmethod
    def remote(cls, base_url: str, *, reference: bool, control_token: str | None = None) -> Target:
        path = urlsplit(base_url).path
        if not path or path == "/":
            raise TargetError(
                f"{base_url!r} has no path: give the API's base URL, "
                f"e.g. {base_url.rstrip('/')}/api"
            )
        kind = "a reference server" if reference else "a deployment"
        return cls(
            base_url.rstrip("/"), reference=reference, description=kind, control_token=control_token
        )

    @property
    def is_in_process(self) -> bool:
        return self.app is not None

    @property
    def is_loopback(self) -> bool:
        return self.is_in_process or is_loopback(self.base_url)

    @property
    def origin(self) -> str:
        parts = urlsplit(self.base_url)
        return f"{parts.scheme}://{parts.netloc}"

    def backend(self) -> Backend:
        """An httpx-like client reaching the target (one per target, reused)."""
        if self._backend is None:
            if self.app is not None:
                from starlette.testclient import TestClient

                self._backend = TestClient(
                    self.app, base_url=IN_PROCESS_URL, raise_server_exceptions=False
                )
            else:
                import httpx

                self._backend = httpx.Client(timeout=60.0)
        backend: Backend = self._backend
        return backend

    def close(self) -> None:
        if self._backend is not None:
            self._backend.close()
            self._backend = None


class ReferenceControl:
    """The reference server's control API: tasks with a chosen fate and a clock to move.

    While the suite runs, the clock is frozen, so that the time of every answer is known and
    tasks change state only when a check moves the clock; :meth:`restore` lets it run again.
    """

    def __init__(self, client: Client) -> None:
        self.client = client
        self._now: datetime | None = None
        self._scale: float | None = None

    def __repr__(self) -> str:
        return f"ReferenceControl({self.client.base_url!r})"

    def _ok(self, exchange: Exchange) -> Any:
        if exchange.status == 401 and CONTROL_HEADER.lower() in (
            (exchange.header("www-authenticate") or "").lower()
        ):
            given = CONTROL_HEADER in self.client.headers
            raise TargetError(
                f"the control API answered {exchange.summary()}: it wants its token"
                + (" and refused the one given" if given else "")
                + "; pass the one 'esdc-api serve' printed or was given with --esdc-control-token "
                "(esdc-api check --control-token, or ESDC_SERVE_CONTROL_TOKEN)"
            )
        if not 200 <= exchange.status < 300:
            raise TargetError(
                f"the control API answered {exchange.summary()}; is the target a reference server?"
            )
        return exchange.json()

    def _clock(self, body: Any) -> datetime:
        self._now = datetime.fromisoformat(body["now"])
        return self._now

    def freeze(self) -> None:
        body = self._ok(self.client.get("/clock/"))
        if self._scale is None:
            self._scale = float(body["scale"])
        self._clock(self._ok(self.client.post("/clock/freeze/")))

    def restore(self) -> None:
        if self._scale is not None and self._scale > 0:
            self._ok(self.client.post("/clock/run/", json={"scale": self._scale}))
        self._scale = None

    def now(self) -> datetime | None:
        """The server's time, as of the last freeze or advance (the clock is frozen)."""
        return self._now

    def advance(self, seconds: float) -> datetime:
        return self._clock(self._ok(self.client.post("/clock/advance/", json={"seconds": seconds})))

    def accounts(self) -> list[dict[str, Any]]:
        accounts: list[dict[str, Any]] = self._ok(self.client.get("/accounts/"))
        return accounts

    def username(self, api_key: str | None) -> str | None:
        for account in self.accounts():
            if account["api_key"] == api_key:
                return str(account["username"])
        return None

    def create_task(self, creator: str, **fate: Any) -> dict[str, Any]:
        """Start a task as ``creator``; ``fate`` holds the control API's NewTask fields."""
        task: dict[str, Any] = self._ok(
            self.client.post("/tasks/", json={"creator": creator, **fate})
        )
        return task

    def task(self, task_id: str) -> dict[str, Any] | None:
        exchange = self.client.get(f"/tasks/{task_id}/")
        if exchange.status == 404:
            return None
        task: dict[str, Any] = self._ok(exchange)
        return task

    def ended_at(self, task_id: str) -> datetime | None:
        task = self.task(task_id)
        if task is None:
            return None
        ended = task.get("revoked_at") or task.get("ends_at")
        return datetime.fromisoformat(ended) if ended else None


def control_client(
    target: Target, pacer: Pacer, on_exchange: Callable[[Exchange], None] | None = None
) -> Client:
    return Client(
        target.backend(),
        target.origin + "/control",
        identity="control",
        api_key=None,
        pacer=pacer,
        on_exchange=on_exchange,
        headers={} if target.control_token is None else {CONTROL_HEADER: target.control_token},
    )
