"""Starting the servers under test on loopback, timing them to their first answer, and
reading their memory.

- **ours**: ``esdc-api serve`` from this checkout, throttling off (a load test is not a
  client to throttle) and no access log;
- **Prism**: ``prism mock`` (``@stoplight/prism-cli`` from ``node_modules``, pinned in
  ``package.json``) on the same spec, bundled by ``esdc-api bundle``. Prism routes by the
  spec's paths and ignores the base path of ``servers``, so its copy has ``/api`` written in
  front of every path: both servers then answer the very same URLs. Its per-request log is
  turned down to warnings, as ours is.
"""

from __future__ import annotations

import functools
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
PRISM = ROOT / "node_modules" / ".bin" / "prism"
#: The demo account every request is made as: a SuperAdmin may call every endpoint.
API_KEY = "demo-admin-key"
HEADERS = {"ES-API-KEY": API_KEY}


class ServerError(RuntimeError):
    """Raised when a server does not start or does not answer."""


@dataclass
class Server:
    """A server under test, running."""

    name: str
    base_url: str  # e.g. http://127.0.0.1:8123 (the API is under /api/)
    process: subprocess.Popen[bytes]
    started_in: float = 0.0  # seconds from launch to the first answer
    log: Path | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def pid(self) -> int:
        return self.process.pid

    def memory_kib(self) -> dict[str, int]:
        """Resident memory now (``VmRSS``) and at its peak (``VmHWM``), in KiB."""
        found = {}
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                found[key] = int(value.split()[0])
        return found

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def pinned(command: list[str], cpu: int | None) -> list[str]:
    return command if cpu is None else ["taskset", "-c", str(cpu), *command]


def get(url: str, timeout: float = 5.0) -> tuple[int, bytes]:
    """One GET as the benchmark user: status and body (an error status is an answer too)."""
    request = urllib.request.Request(url, headers=HEADERS)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _wait_for_answer(server: Server, launched: float, timeout: float) -> None:
    probe = f"{server.base_url}/api/task/"
    deadline = launched + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise ServerError(f"{server.name} exited with {server.process.returncode}")
        try:
            get(probe, timeout=1)
        except (OSError, urllib.error.URLError):
            time.sleep(0.01)
            continue
        server.started_in = time.monotonic() - launched
        return
    server.stop()
    raise ServerError(f"{server.name} did not answer {probe} within {timeout:g} s")


def _launch(
    command: list[str], log: Path, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            command,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=ROOT,
            env=env,
        )


@functools.cache
def compile_ours() -> None:
    """Byte-compile this checkout's packages, once per harness run, so that ours starts as an
    installed server does: pip compiles a wheel as it installs it, and a checkout's own runs
    write the bytecode they compile. Where ``PYTHONDONTWRITEBYTECODE`` is set (sessions on
    the shared machine set it) nothing is written, and every start compiled all of
    ``esdc_api`` and ``mockserver`` again: 1.37 s to first answer against 1.07 s with the
    bytecode (medians of five, back to back, on the shared 2-core machine)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", "esdc_api", "mockserver"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )


def start_ours(
    workdir: Path,
    *,
    history: int = 400,
    cache: bool = True,
    cpu: int | None = None,
    timeout: float = 1800,
    extra: list[str] | None = None,
) -> Server:
    """``esdc-api serve`` with ``history`` finished tasks (two log entries each).

    :param cache: keep answers until the deployment changes (``--no-cache`` if false).
    :param extra: more options (``--workers 2``).
    """
    port = free_port()
    log = workdir / f"ours-{history}-{'cache' if cache else 'no-cache'}-{len(extra or [])}.log"
    command = [
        sys.executable,
        "-m",
        "esdc_api",
        "serve",
        "--port",
        str(port),
        "--no-throttle",
        "--log-level",
        "warning",
        "--history",
        str(history),
        *([] if cache else ["--no-cache"]),  # the default, and older checkouts lack the option
        *(extra or []),
    ]
    compile_ours()
    launched = time.monotonic()
    server = Server(
        "ours" if cache else "ours, --no-cache",
        f"http://127.0.0.1:{port}",
        _launch(pinned(command, cpu), log),
        log=log,
    )
    _wait_for_answer(server, launched, timeout)
    ready = re.search(r"ready in ([\d.]+) s", log.read_text())
    if ready:
        server.extra["ready_in"] = ready.group(1)
    return server


def prism_spec(workdir: Path) -> Path:
    """The bundled spec, with the base path of its first server in front of every path."""
    bundle = workdir / "bundle.json"
    subprocess.run(
        [sys.executable, "-m", "esdc_api", "bundle", "-o", str(bundle)],
        check=True,
        capture_output=True,
        cwd=ROOT,
    )
    spec = json.loads(bundle.read_text())
    base = urlsplit(spec.get("servers", [{}])[0].get("url", "")).path.rstrip("/")
    spec["paths"] = {base + path: item for path, item in spec["paths"].items()}
    spec.pop("servers", None)
    target = workdir / "prism-spec.json"
    target.write_text(json.dumps(spec))
    return target


def start_prism(workdir: Path, *, cpu: int | None = None, timeout: float = 120) -> Server:
    if not PRISM.exists():
        raise ServerError(f"no Prism at {PRISM}: run `npm ci` first")
    port = free_port()
    spec = prism_spec(workdir)
    command = [
        str(PRISM),
        "mock",
        "-h",
        "127.0.0.1",
        "-p",
        str(port),
        "--verboseLevel",
        "warn",
        str(spec),
    ]
    launched = time.monotonic()
    log = workdir / "prism.log"
    server = Server(
        "Prism", f"http://127.0.0.1:{port}", _launch(pinned(command, cpu), log), log=log
    )
    _wait_for_answer(server, launched, timeout)
    return server
