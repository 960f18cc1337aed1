"""Running the reference server with uvicorn, and the banner it prints on start."""

from __future__ import annotations

import gc
import os
import shutil
import socket
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from mockserver.app import API_BASE, CONTROL_BASE, ReferenceServer, create_app
from mockserver.guard import CONTROL_HEADER, AllowedHosts, is_loopback, make_token
from mockserver.limits import Limits, limit
from mockserver.reload import Reloader, watched_files
from mockserver.settings import Settings

if TYPE_CHECKING:
    import uvicorn


def banner(server: ReferenceServer, url: str, *, made_up_token: str | None = None) -> str:
    """What the server prints on start: where things are, what it exposes to whom, and how
    to log in.

    :param made_up_token: the control token made up for this start, to print.
    """
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
    hosts = AllowedHosts.for_server(settings.host, settings.allowed_hosts)
    clock = server.clock
    clock_text = (
        "frozen" if clock.frozen else ("real time" if clock.scale == 1 else f"x{clock.scale:g}")
    )
    return (
        f"Danube Cloud task API reference server\n"
        f"  API          {url}{API_BASE}/   (ES_API_URL={url}{API_BASE})\n"
        f"  Swagger UI   {url}{API_BASE}/ui/\n"
        f"  spec         {url}{API_BASE}/openapi.json\n"
        + _control_lines(settings, url, made_up_token)
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
        f"  hosts        {hosts.describe()}; other Host headers get 400 (--allowed-host NAME "
        "adds one)\n"
        + _exposure(settings)
        + (
            f"  accounts (curl -H 'ES-API-KEY: {example_key.api_key}' {url}{API_BASE}/task/):\n"
            if example_key is not None
            else "  accounts (none has an API key):\n"
        )
        + f"{table}\n"
    )


def _say(out: TextIO) -> Callable[[str], None]:
    """Lines on the console, for what takes a while (a big world built)."""

    def say(line: str) -> None:
        print(f"  {line}", file=out, flush=True)

    return say


def _control_lines(settings: Settings, url: str, made_up_token: str | None) -> str:
    """What the banner says of the control API: where, and who may use it how."""
    if not settings.control:
        return "  control API  off (--no-control)\n"
    lines = (
        f"  control API  {url}{CONTROL_BASE}/   (docs: {url}{CONTROL_BASE}/ui/)\n"
        f"  control page {url}{CONTROL_BASE}/   in a browser; named worlds under {url}/w/NAME/\n"
    )
    if settings.control_token is None:
        return lines + (
            "               no token: open to the programs of this machine, closed to other "
            "sites' pages;\n"
            "               a browser's call that changes the world sends JSON or "
            f"'{CONTROL_HEADER}: 1'\n"
        )
    if made_up_token is None:
        return (
            lines + f"               token required: every call sends '{CONTROL_HEADER}: <token>'\n"
        )
    return lines + (
        f"               token required: every call sends '{CONTROL_HEADER}: {made_up_token}'\n"
        "               (made up for this start; --control-token or ESDC_SERVE_CONTROL_TOKEN "
        "keeps one)\n"
    )


def _exposure(settings: Settings) -> str:
    """The warning of a server listening beyond loopback: what the network then reaches."""
    if is_loopback(settings.host):
        return ""
    return (
        f"  WARNING      listening on {settings.host}, beyond this machine: the task API, with "
        "the demo\n"
        "               accounts' passwords and keys below, is open to the network"
        + (" (the control\n               API too, with its token)\n" if settings.control else "\n")
    )


#: Where the worker processes of ``--workers`` read their settings.
WORKER_SETTINGS = "ESDC_SERVE_WORKER_SETTINGS"


def worker_app() -> ReferenceServer:
    """The application of one worker process: the world its parent built in the database."""
    app = create_app(Settings.from_json(os.environ[WORKER_SETTINGS]), say=_say(sys.stderr))
    _settle_garbage()
    return app


def _settle_garbage() -> None:
    """Put what the build made, which lives as long as the server, out of the collector's
    way: a full collection under load then walks what requests make, not the world, the spec
    and the libraries (measured under ``wrk -c16`` on the statistics: a full collection took
    up to 119 ms before, 6 ms after; the p99 went from 63 ms to 9 ms)."""
    gc.collect()
    gc.freeze()


def limits_of(settings: Settings) -> Limits:
    return Limits(
        header_bytes=settings.max_header_size,
        header_line=settings.max_header_line,
        body_bytes=settings.max_body_size,
        request_seconds=settings.request_timeout,
        connections=settings.max_connections,
    )


def uvicorn_config(app: Any, settings: Settings, **options: Any) -> uvicorn.Config:
    """uvicorn's configuration for ``app``: the limits of ``settings``, and forwarded
    headers trusted only from ``settings.forwarded_allow_ips`` (uvicorn trusts 127.0.0.1's
    by default, which let any local client pick the address the throttle counts)."""
    import uvicorn

    config = uvicorn.Config(
        app,
        log_level=settings.log_level,
        access_log=settings.log_level == "debug",
        lifespan="off",
        proxy_headers=bool(settings.forwarded_allow_ips),
        forwarded_allow_ips=list(settings.forwarded_allow_ips) or None,
        limit_concurrency=settings.max_connections,
        date_header=False,  # the server dates its answers itself (mockserver.app.dated)
        **options,
    )
    return limit(config, limits_of(settings))


def with_control_token(settings: Settings) -> tuple[Settings, str | None]:
    """``settings`` with a control token made up when the server listens beyond loopback
    and was given none, and that token (``None`` when none was made up)."""
    if settings.control and settings.control_token is None and not is_loopback(settings.host):
        made_up = make_token()
        return replace(settings, control_token=made_up), made_up
    return settings, None


def run(settings: Settings, *, out: TextIO = sys.stderr) -> None:
    """Build the server and serve it until interrupted. Listening beyond loopback, its
    control API gets a token, made up here unless the settings have one."""
    import uvicorn

    # What is there before the build (the libraries, the spec's forms) lives as long as the
    # process: frozen, the collections the build triggers and the one before serving do not
    # walk it again (measured: about 0.1 s of a start on the shared 2-core machine). Under
    # --reload too: the worlds it replaces are made after this.
    gc.freeze()
    settings, made_up = with_control_token(settings)
    if settings.workers > 1:
        _run_workers(settings, out, made_up)
        return
    started = time.perf_counter()
    server = create_app(settings, say=_say(out))
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
    config = uvicorn_config(app, settings)
    print(banner(server, url, made_up_token=made_up), file=out)
    if reloader is not None:
        print(
            f"  reload       on: {reloader.state.watching} files of the spec and the world",
            file=out,
        )
        reloader.start()
    print(
        f"  ready in {time.perf_counter() - started:.2f} s; Ctrl-C stops it", file=out, flush=True
    )
    if reloader is None:  # under --reload, a world it replaces must stay collectable
        _settle_garbage()
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


def _run_workers(settings: Settings, out: TextIO, made_up: str | None) -> None:
    """Build the world into the database file, then serve it from ``settings.workers``
    processes (uvicorn's supervisor, which restarts one that dies)."""
    from uvicorn.supervisors import Multiprocess

    started = time.perf_counter()
    scratch = None
    if settings.db == ":memory:":  # processes share a file, not a memory
        scratch = tempfile.mkdtemp(prefix="esdc-serve-")
        settings = replace(settings, db=str(Path(scratch) / "world.sqlite3"))
    try:
        server = create_app(settings, say=_say(out))
        config = uvicorn_config(
            "mockserver.server:worker_app",
            settings,
            factory=True,
            host=settings.host,
            port=settings.port,
            workers=settings.workers,
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
        print(banner(server, url, made_up_token=made_up), file=out)
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
