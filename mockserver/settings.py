"""The reference server's settings: one frozen value, filled by ``esdc-api serve``."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    """How to run the reference server.

    :param db: the SQLite file to keep the state in, or ``":memory:"``. An existing file with a
        world in it is used as it is; otherwise the world is built into it.
    :param world: the world file to start with (ours, or an export of a real deployment);
        ``None`` for the demo world.
    :param start: the time the clock starts at (the docs build fixes it); by default the
        world's own moment, or now; in a reused ``db``, where its clock was when the server
        stopped, and as much later as it would have run since.
    :param scale: the clock's speed, 1 for real time, 0 frozen; ``None`` for real time, or,
        in a reused ``db``, the speed its clock had.
    :param seed: the seed of the world's made-up history and of new ids; ``None`` for the
        world's own (0).
    :param history: how many finished tasks the world's made-up history holds; ``None`` for
        the world's own number.
    :param throttle: apply the real rates (45 requests a minute per user, 30 per anonymous IP).
    :param cors_origins: origins a browser app may call ``/api/`` from. Real deployments send no
        CORS headers (a browser app needs a same-origin proxy against them), so by default
        neither does the reference server.
    :param validate_responses: check every answer against the spec (slower; for development).
    :param cache: give a read the answer it got before while nothing has changed
        (:mod:`mockserver.answers`).
    :param docs_dir: a built docs site to serve under ``/docs/``.
    :param workers: how many processes serve the API, all from ``db`` (a file: a temporary
        one if ``db`` is ``":memory:"``).
    :param attach: join the world already in ``db``, its clock included, instead of
        starting the clock anew (what each of ``workers`` processes does).
    :param max_worlds: how many named worlds (``/w/{name}/``) the server holds at most.
    :param journal_size: how many requests each world's journal keeps (0: none).
    :param reload: build the server again when the spec's files or the world file change.
    :param allowed_hosts: names a ``Host`` header may give besides ``localhost``, IP
        addresses and ``host`` (:mod:`mockserver.guard`); ``*`` for any. ``None``, for an
        app made in-process, also allows ``testserver``, the name test clients give.
    :param control: serve the control API (under ``/control/``).
    :param control_token: the token every control request must send in ``ESDC-Control``;
        ``None`` for none (``esdc-api serve`` makes one up when it listens beyond loopback).
    :param control_cors_origins: origins whose pages may call the control API (CORS).
    :param max_header_size: the most bytes a request's line and headers may take (431).
    :param max_header_line: the most bytes one header may take (431).
    :param max_body_size: the most bytes a request's body may take (413).
    :param request_timeout: seconds a request may take to arrive (408).
    :param max_connections: connections beyond which requests get 503.
    :param forwarded_allow_ips: proxies whose ``X-Forwarded-For`` and ``-Proto`` are
        trusted; none by default, so the throttle keys on the peer's own address.
    """

    host: str = "127.0.0.1"
    port: int = 8000
    db: str = ":memory:"
    world: Path | None = None
    start: datetime | None = None
    scale: float | None = None
    seed: int | None = None
    history: int | None = None
    throttle: bool = True
    user_rate: str = "45/min"
    anon_rate: str = "30/min"
    cors_origins: tuple[str, ...] = ()
    validate_responses: bool = False
    cache: bool = True
    docs_dir: Path | None = None
    spec_path: Path | None = None
    log_level: str = "info"
    workers: int = 1
    attach: bool = False
    max_worlds: int = 256
    journal_size: int = 1000
    reload: bool = False
    allowed_hosts: tuple[str, ...] | None = None
    control: bool = True
    control_token: str | None = None
    control_cors_origins: tuple[str, ...] = ()
    max_header_size: int = 64 * 1024
    max_header_line: int = 16 * 1024
    max_body_size: int = 1024 * 1024
    request_timeout: float = 30.0
    max_connections: int = 1000
    forwarded_allow_ips: tuple[str, ...] = ()

    def to_json(self) -> str:
        """The settings as JSON (for the worker processes, which read them back)."""
        fields = asdict(self)
        for name, value in fields.items():
            if isinstance(value, Path):
                fields[name] = str(value)
            elif isinstance(value, datetime):
                fields[name] = value.isoformat()
        return json.dumps(fields)

    @classmethod
    def from_json(cls, text: str) -> Settings:
        fields = json.loads(text)
        for name in ("world", "docs_dir", "spec_path"):
            if fields.get(name) is not None:
                fields[name] = Path(fields[name])
        if fields.get("start") is not None:
            fields["start"] = datetime.fromisoformat(fields["start"])
        for name in (
            "cors_origins",
            "control_cors_origins",
            "allowed_hosts",
            "forwarded_allow_ips",
        ):
            if fields.get(name) is not None:
                fields[name] = tuple(fields[name])
        return cls(**fields)

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"
