"""The reference server's settings: one frozen value, filled by ``esdc-api serve``."""

from __future__ import annotations

from dataclasses import dataclass
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
        world's own moment, or now.
    :param scale: the clock's speed, 1 for real time, 0 frozen.
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
    """

    host: str = "127.0.0.1"
    port: int = 8000
    db: str = ":memory:"
    world: Path | None = None
    start: datetime | None = None
    scale: float = 1.0
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

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"
