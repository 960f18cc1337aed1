"""``esdc-api serve --reload``: a new spec or world file takes over while the server runs.

A watcher thread looks at every file of the spec's folder (``openapi/``, the control API's
document with it) and at the world file twice a second. When one changed, it builds a new
server from them, as at start; only once that worked does the new server answer the next
requests, on the same socket. A spec or a world that does not load leaves the previous server
answering, and says so: on the server's output, and at ``GET /control/reload/``. A reload is
a restart that keeps the socket: the world starts over, its named worlds too.
``POST /control/reload/`` looks at the files at once, for a test that just wrote them.
"""

from __future__ import annotations

import sys
import threading
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from starlette.types import Receive, Scope, Send

#: How often the watcher looks at the files, in seconds.
INTERVAL = 0.5
Signature = dict[Path, tuple[int, int]]


def signature(paths: Iterable[Path]) -> Signature:
    """Each file's modification time and size, for the files that exist."""
    found: Signature = {}
    for path in paths:
        try:
            stat = path.stat()
        except OSError:
            continue
        found[path] = (stat.st_mtime_ns, stat.st_size)
    return found


def watched_files(spec_root: Path, world: Path | None) -> Callable[[], list[Path]]:
    """The files a reload follows: the spec's folder (each call lists it again, so that a new
    file counts as a change) and the world file."""
    folder = spec_root.resolve().parent

    def files() -> list[Path]:
        found = [
            path
            for path in sorted(folder.rglob("*"))
            if path.suffix in {".yaml", ".yml", ".json"} and path.is_file()
        ]
        return found + ([world.resolve()] if world is not None else [])

    return files


@dataclass
class ReloadState:
    """What the reloader did last, as ``GET /control/reload/`` shows it."""

    generation: int = 1
    loaded_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    checked_at: datetime | None = None
    changed: list[str] = field(default_factory=list)
    error: str | None = None
    failed_at: datetime | None = None
    watching: int = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "enabled": True,
            "generation": self.generation,
            "loaded_at": self.loaded_at.isoformat(),
            "checked_at": None if self.checked_at is None else self.checked_at.isoformat(),
            "changed": self.changed,
            "error": self.error,
            "failed_at": None if self.failed_at is None else self.failed_at.isoformat(),
            "watching": self.watching,
        }


class Reloader:
    """An ASGI application that passes each request to the server built last.

    :param build: makes a server from the files as they are now (raises if they do not load).
    :param files: lists the files to follow.
    :param say: where to say what happened (the server's output).
    """

    def __init__(
        self,
        build: Callable[[], Any],
        files: Callable[[], list[Path]],
        *,
        say: Callable[[str], None] | None = None,
    ) -> None:
        self._build, self._files = build, files
        self._say = say or (lambda line: print(line, file=sys.stderr, flush=True))
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._seen = signature(files())
        self.state = ReloadState(watching=len(self._seen))
        self.server = self._adopt(build())

    def _adopt(self, server: Any) -> Any:
        worlds = getattr(server, "worlds", None)
        if worlds is not None:
            worlds.reloader = self
        return server

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.server(scope, receive, send)

    def check(self) -> ReloadState:
        """Look at the files now; build a new server if one changed."""
        with self._lock:
            now = signature(self._files())
            self.state.checked_at = datetime.now(UTC)
            if now == self._seen:
                return self.state
            changed = sorted(
                str(path)
                for path in set(now) | set(self._seen)
                if now.get(path) != self._seen.get(path)
            )
            self._seen = now
            self.state.watching = len(now)
            try:
                server = self._build()
            except Exception as exc:  # whatever a bad file makes the loaders raise
                self.state.error = f"{type(exc).__name__}: {exc}".strip()
                self.state.failed_at = datetime.now(UTC)
                self._say(
                    f"reload: {', '.join(changed)} changed, but the server could not be built "
                    f"from it: {self.state.error}\n  still serving generation "
                    f"{self.state.generation} (loaded {self.state.loaded_at:%H:%M:%S}); fix the "
                    "file and save it again"
                )
                if not isinstance(exc, ValueError | OSError | LookupError):
                    self._say(traceback.format_exc().rstrip())
                return self.state
            self.server = self._adopt(server)
            self.state.generation += 1
            self.state.loaded_at = datetime.now(UTC)
            self.state.changed = changed
            self.state.error = self.state.failed_at = None
            self._say(
                f"reload: {', '.join(changed)} changed; generation {self.state.generation} "
                "serves from now on (a new world)"
            )
            return self.state

    def start(self, interval: float = INTERVAL) -> None:
        """Watch the files in a thread until :meth:`stop`."""

        def watch() -> None:
            while not self._stop.wait(interval):
                self.check()

        self._thread = threading.Thread(target=watch, name="esdc-reload", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
