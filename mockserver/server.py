"""Running the reference server with uvicorn, and the banner it prints on start."""

from __future__ import annotations

import os
import shutil
import socket
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, TextIO

from mockserver.app import API_BASE, CONTROL_BASE, ReferenceServer, create_app
from mockserver.reload import Reloader, watched_files
from mockserver.settings import Settings


def banner(server: ReferenceServer, url: str) -> str:
    """What the server prints on start: where things are and how to log in."""
    settings, deployment = server.settings, server.deployment
    rows = [
        (u.username, u.password or "", u.api_key or "", deployment.dc_by_id(u.current_dc).name)
        for u in deployment.users.values()
        if u.api_key
    ]
    # The example uses a plain user's key where the world has one (demo-alice-key in the demo).
    usable = [u for u in deployment.users.values() if u.api_key and u.is_active and u.api_access]
    plain = [u for u in usable if not u.is_staff and not u.admin_dcs]
    example_key = next(iter(plain or usable), None)
    widths = [
        max(len(row[i]) for row in [("user", "password", "ES-API-KEY", "dc"), *rows])
        for i in range(4)
    ]
    table = "\n".join(
        "    "
        + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [("user", "password", "ES-API-KEY", "dc"), *rows]
    )
    store = deployment.store
    throttle = (
        f"{settings.user_rate} per user, {settings.anon_rate} per anonymous IP"
        if settings.throttle
        else "off"
    )
    cors = (
        f"{', '.join(settings.cors_origins)} on {API_BASE}/"
        if settings.cors_origins
        else f"off, as on real deployments (--cors-origin ORIGIN turns it on for {API_BASE}/)"
    )
    clock = server.clock
    clock_text = (
        "frozen" if clock.frozen else ("real time" if clock.scale == 1 else f"x{clock.scale:g}")
    )
    return (
        f"Danube Cloud task API reference server\n"
        f"  API          {url}{API_BASE}/   (ES_API_URL={url}{API_BASE})\n"
        f"  Swagger UI   {url}{API_BASE}/ui/\n"
        f"  spec         {url}{API_BASE}/openapi.json\n"
        f"  control API  {url}{CONTROL_BASE}/   (docs: {url}{CONTROL_BASE}/ui/)\n"
        f"  control page {url}{CONTROL_BASE}/   in a browser; named worlds under {url}/w/NAME/\n"
        + (f"  docs         {url}/docs/\n" if settings.docs_dir else "")
        + f"  world        {store.count_tasks()} tasks, {store.count_log()} log entries, "
        f"clock {clock.now().isoformat(timespec='seconds')} ({clock_text}), db {settings.db}\n"
        + (
            f"  workers      {settings.workers} processes on one database file\n"
            if settings.workers > 1
            else ""
        )
        + f"  throttle     {throttle}\n"
        f"  CORS         {cors}\n"
        + (
            f"  accounts (curl -H 'ES-API-KEY: {example_key.api_key}' {url}{API_BASE}/task/):\n"
            if example_key is not None
            else "  accounts (none has an API key):\n"
        )
        + f"{table}\n"
    )


#: Where the worker processes of ``--workers`` read their settings.
WORKER_SETTINGS = "ESDC_SERVE_WORKER_SETTINGS"


def worker_app() -> ReferenceServer:
    """The application of one worker process: the world its parent built in the database."""
    return create_app(Settings.from_json(os.environ[WORKER_SETTINGS]))


def run(settings: Settings, *, out: TextIO = sys.stderr) -> None:
    """Build the server and serve it until interrupted."""
    import uvicorn

    if settings.workers > 1:
        _run_workers(settings, out)
        return
    from mockserver.onewrite import OneWriteHttpToolsProtocol

    started = time.perf_counter()
    server = create_app(settings)
    app: Any = server
    reloader = None
    if settings.reload:
        reloader = reloading(settings, server, out)
        app = reloader
    sock = socket.socket(socket.AF_INET6 if ":" in settings.host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((settings.host, settings.port))
    except OSError as exc:
        raise SystemExit(
            f"esdc-api serve: cannot listen on {settings.host}:{settings.port}: {exc.strerror}; "
            "pick another port with --port"
        ) from None
    # Listening before the banner says "ready": a client that connects at once is queued
    # until uvicorn accepts, not refused.
    sock.listen(2048)
    port = sock.getsockname()[1]
    url = f"http://{settings.host}:{port}"
    config = uvicorn.Config(
        app,
        http=OneWriteHttpToolsProtocol,
        log_level=settings.log_level,
        access_log=settings.log_level == "debug",
        lifespan="off",
        date_header=False,  # the server dates its answers itself (mockserver.app.dated)
    )
    print(banner(server, url), file=out)
    if reloader is not None:
        print(
            f"  reload       on: {reloader.state.watching} files of the spec and the world",
            file=out,
        )
        reloader.start()
    print(
        f"  ready in {time.perf_counter() - started:.2f} s; Ctrl-C stops it", file=out, flush=True
    )
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        if reloader is not None:
            reloader.stop()


def reloading(settings: Settings, server: ReferenceServer, out: TextIO) -> Reloader:
    """The reloader of ``--reload``: it follows the spec's folder and the world file, and
    starts with ``server``."""
    from esdc_api.spec import default_spec_path

    if settings.workers > 1 or settings.db != ":memory:":
        raise SystemExit(
            "esdc-api serve: --reload builds the world again in memory; it cannot be used with "
            "--workers or --db"
        )
    first = [server]

    def build() -> ReferenceServer:
        return first.pop() if first else create_app(settings)

    files = watched_files(settings.spec_path or default_spec_path(), settings.world)
    return Reloader(build, files, say=lambda line: print(line, file=out, flush=True))


def _run_workers(settings: Settings, out: TextIO) -> None:
    """Build the world into the database file, then serve it from ``settings.workers``
    processes (uvicorn's supervisor, which restarts one that dies)."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    from mockserver.onewrite import OneWriteHttpToolsProtocol

    started = time.perf_counter()
    scratch = None
    if settings.db == ":memory:":  # processes share a file, not a memory
        scratch = tempfile.mkdtemp(prefix="esdc-serve-")
        settings = replace(settings, db=str(Path(scratch) / "world.sqlite3"))
    try:
        server = create_app(settings)
        config = uvicorn.Config(
            "mockserver.server:worker_app",
            factory=True,
            http=OneWriteHttpToolsProtocol,
            host=settings.host,
            port=settings.port,
            workers=settings.workers,
            log_level=settings.log_level,
            access_log=settings.log_level == "debug",
            lifespan="off",
            date_header=False,  # the server dates its answers itself (mockserver.app.dated)
        )
        try:
            sock = config.bind_socket()
        except SystemExit:
            raise SystemExit(
                f"esdc-api serve: cannot listen on {settings.host}:{settings.port}; "
                "pick another port with --port"
            ) from None
        sock.listen(2048)  # queued until a worker accepts, not refused
        port = sock.getsockname()[1]
        url = f"http://{settings.host}:{port}"
        os.environ[WORKER_SETTINGS] = replace(settings, attach=True).to_json()
        print(banner(server, url), file=out)
        if scratch is not None:
            print(f"  db           {settings.db} (temporary: deleted on exit)", file=out)
        print(
            f"  ready in {time.perf_counter() - started:.2f} s (workers start now); "
            "Ctrl-C stops it",
            file=out,
            flush=True,
        )
        server.deployment.store.close()
        Multiprocess(config, sockets=[sock]).run()
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
