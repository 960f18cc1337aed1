"""The ceiling under uvicorn: how fast a Python server answers what ours answers, if it did no
work at all for it.

Ours is started first, and its answer to each request type is recorded: status, headers and
body. Then a bare ASGI application that sends those recorded answers, byte for byte, and does
nothing else is served twice, pinned and loaded as the harness loads the servers:

- by **uvicorn** as it comes (httptools and uvloop), but for its own ``Date``, off as in
  ours, so that both send the same bytes;
- by **uvicorn as ``esdc-api serve`` runs it**: the request limits (431, 413, 408) and each
  answer in one write (:mod:`mockserver.limits`, :mod:`mockserver.onewrite`).

The second is what ours would answer if its pipeline cost nothing; ours measured beside it is
the pipeline's share. Run ``python -m bench.ceiling`` (``--help`` for the options).
"""

from __future__ import annotations

import base64
import json
import os
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from bench import wrk
from bench.report import table
from bench.servers import (
    HEADERS,
    Server,
    _launch,
    _wait_for_answer,
    free_port,
    pinned,
    start_ours,
)
from bench.workload import REQUEST_TYPES

#: Where the bare application finds the recorded answers (JSON: path to status, headers, body).
ANSWERS_ENV = "ESDC_BENCH_ANSWERS"


@dataclass(frozen=True)
class Recorded:
    """One answer of ours, as it was sent."""

    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes

    def as_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "headers": [[n.decode("latin-1"), v.decode("latin-1")] for n, v in self.headers],
            "body": base64.b64encode(self.body).decode(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Recorded:
        return cls(
            int(data["status"]),
            [(n.encode("latin-1"), v.encode("latin-1")) for n, v in data["headers"]],
            base64.b64decode(data["body"]),
        )


_NOT_RECORDED = frozenset(("server", "connection", "keep-alive", "transfer-encoding"))


def record(url: str) -> Recorded:
    """Ours's answer to a GET of ``url`` as the benchmark user, its headers as sent but for
    ``Server``, which uvicorn adds itself, and ``Connection``: urllib asks to close, which a
    recorded ``Connection: close`` would make the bare app do after every answer."""
    request = urllib.request.Request(url, headers=HEADERS)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status, headers, body = response.status, response.headers.items(), response.read()
    except urllib.error.HTTPError as exc:
        status, headers, body = exc.code, exc.headers.items(), exc.read()
    kept = [
        (name.lower().encode("latin-1"), value.encode("latin-1"))
        for name, value in headers
        if name.lower() not in _NOT_RECORDED
    ]
    return Recorded(status, kept, body)


def bare_app(answers: dict[str, Recorded]) -> Any:
    """The ASGI application that sends the recorded answer of each path (query included), and
    a 404 for any other."""
    missing = Recorded(404, [(b"content-length", b"0")], b"")

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        query = scope.get("query_string", b"")
        key = scope["path"] + ("?" + query.decode("latin-1") if query else "")
        answer = answers.get(key, missing)
        await send(
            {"type": "http.response.start", "status": answer.status, "headers": answer.headers}
        )
        await send({"type": "http.response.body", "body": answer.body})

    return app


def serve_bare(mode: str, port: int) -> None:
    """Serve :func:`bare_app` on ``port`` (``mode``: ``uvicorn`` or ``as-ours``)."""
    import uvicorn

    from mockserver.server import uvicorn_config
    from mockserver.settings import Settings

    data = json.loads(os.environ[ANSWERS_ENV])
    app = bare_app({path: Recorded.from_json(answer) for path, answer in data.items()})
    if mode == "as-ours":
        settings = Settings(throttle=False, log_level="warning")
        config = uvicorn_config(app, settings, port=port)
    else:  # the same bytes as ours: the recorded Date, and uvicorn's Server header
        config = uvicorn.Config(
            app,
            port=port,
            log_level="warning",
            access_log=False,
            lifespan="off",
            date_header=False,
        )
    uvicorn.Server(config).run()


@dataclass
class Row:
    name: str
    results: dict[str, wrk.WrkResult]  # by server


def rows_table(rows: Sequence[Row], servers: Sequence[str]) -> str:
    """Requests per second and p50 / p99 of each server, a row per request type."""
    headers = ["request", *(f"{s} req/s" for s in servers), *(f"{s} p50 / p99 ms" for s in servers)]
    body = []
    for row in rows:
        rates = [f"{row.results[s].rps:,.0f}" if s in row.results else "" for s in servers]
        latencies = [
            f"{row.results[s].p50_ms:.2f} / {row.results[s].p99_ms:.2f}" if s in row.results else ""
            for s in servers
        ]
        body.append([row.name, *rates, *latencies])
    return table(headers, body)


def _start_bare(mode: str, answers: dict[str, Recorded], cpu: int | None, log: Path) -> Server:
    """The bare app served in ``mode``, as the harness starts the other servers."""
    port = free_port()
    env = {**os.environ, ANSWERS_ENV: json.dumps({p: a.as_json() for p, a in answers.items()})}
    command = [sys.executable, "-m", "bench.ceiling", "--serve", mode, "--port", str(port)]
    launched = time.monotonic()
    server = Server(
        f"bare ({mode})",
        f"http://127.0.0.1:{port}",
        _launch(pinned(command, cpu), log, env),
        log=log,
    )
    _wait_for_answer(server, launched, timeout=30)
    return server


@click.command()
@click.option("--duration", default=10.0, show_default=True, help="Seconds of load per type.")
@click.option("--warmup", default=2.0, show_default=True, help="Seconds of unmeasured load.")
@click.option("-c", "--concurrency", default=16, show_default=True, help="wrk connections.")
@click.option("--no-pin", is_flag=True, help="Let the servers and wrk share every core.")
@click.option("--serve", type=click.Choice(["uvicorn", "as-ours"]), hidden=True)
@click.option("--port", type=int, default=0, hidden=True)
def main(
    duration: float, warmup: float, concurrency: int, no_pin: bool, serve: str | None, port: int
) -> None:
    """Measure ours beside a bare ASGI app sending ours's recorded answers under uvicorn, as
    it comes and as ``esdc-api serve`` runs it: the ceiling any pipeline under uvicorn has."""
    if serve is not None:
        serve_bare(serve, port)
        return
    import tempfile

    server_cpu, client_cpu = (None, None) if no_pin or (os.cpu_count() or 1) < 2 else (1, 0)
    servers = ["ours", "bare, uvicorn as ours", "bare, uvicorn"]
    results: dict[str, dict[str, wrk.WrkResult]] = {r.name: {} for r in REQUEST_TYPES}

    def load(name: str, base: str) -> None:
        for request in REQUEST_TYPES:
            url = base + request.path
            wrk.run(url, headers=HEADERS, duration=warmup, connections=concurrency, cpu=client_cpu)
            found = wrk.run(
                url, headers=HEADERS, duration=duration, connections=concurrency, cpu=client_cpu
            )
            results[request.name][name] = found
            click.echo(f"[ceiling] {name}, {request.name}: {found.rps:,.0f} req/s", err=True)

    with tempfile.TemporaryDirectory() as tmp:
        with start_ours(Path(tmp), cpu=server_cpu) as ours:
            answers = {r.path: record(ours.base_url + r.path) for r in REQUEST_TYPES}
            load("ours", ours.base_url)
        for mode, name in (("as-ours", servers[1]), ("uvicorn", servers[2])):
            with _start_bare(mode, answers, server_cpu, Path(tmp) / f"{mode}.log") as bare:
                load(name, bare.base_url)
    rows = [Row(name, found) for name, found in results.items()]
    click.echo(
        f"wrk -t1 -c{concurrency}, {duration:g} s per request type after {warmup:g} s; "
        + ("not pinned" if server_cpu is None else "servers on CPU 1, wrk on CPU 0")
    )
    click.echo(rows_table(rows, servers))


if __name__ == "__main__":
    main()
