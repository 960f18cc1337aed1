"""``python -m bench``: measure, print the tables, and optionally rewrite BENCHMARKS.md."""

from __future__ import annotations

import os
import shlex
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import click

from bench import mixed, scale, suites, wrk
from bench.machine import CpuMeter, load_average, machine, versions, wait_until_idle
from bench.peers import start_mockoon, start_wiremock
from bench.report import Comparison, ScaleRow, comparison_table, scale_table, slowest, table
from bench.servers import (
    HEADERS,
    Server,
    ServerError,
    get,
    prism_spec,
    start_ours,
    start_prism,
)
from bench.workload import LOG_FILTERS, REQUEST_TYPES

PEERS = ("Prism", "Mockoon", "WireMock")

BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"


def say(message: str) -> None:
    click.echo(f"[bench] {message}", err=True)


@dataclass
class Run:
    """Everything one run measured."""

    options: dict[str, object]
    command: str
    started: datetime
    load_before: tuple[float, float, float]
    meter: CpuMeter = field(default_factory=CpuMeter)
    comparisons: list[Comparison] = field(default_factory=list)
    uncached: list[Comparison] = field(default_factory=list)
    start_times: dict[str, float] = field(default_factory=dict)
    scale_rows: list[ScaleRow] = field(default_factory=list)
    timings: list[suites.Timing] = field(default_factory=list)
    mixed: dict[str, mixed.MixedResult] = field(default_factory=dict)
    load_after: tuple[float, float, float] = (0.0, 0.0, 0.0)


def check_statuses(server: Server) -> None:
    """One request of each type first: a server that answers 403 or 404 is not measured."""
    for request in REQUEST_TYPES:
        status, body = get(server.base_url + request.path)
        if status != request.expected:
            raise ServerError(
                f"{server.name} answered {request.name} ({request.path}) with {status}, "
                f"not {int(request.expected)}: {body[:200]!r}"
            )


def load(
    server: Server, run: Run, *, duration: float, warmup: float, connections: int, cpu: int | None
) -> dict[str, wrk.WrkResult]:
    check_statuses(server)
    results = {}
    for request in REQUEST_TYPES:
        url = server.base_url + request.path
        if warmup:
            wrk.run(url, headers=HEADERS, duration=warmup, connections=connections, cpu=cpu)
        with run.meter.measure([server.pid]):
            result = wrk.run(
                url, headers=HEADERS, duration=duration, connections=connections, cpu=cpu
            )
        results[request.name] = result
        say(
            f"{server.name}: {request.name}: {result.rps:,.0f} req/s, p50 {result.p50_ms:.2f} "
            f"ms, p99 {result.p99_ms:.2f} ms, {result.status_mix()}"
        )
    return results


def compare_servers(
    run: Run,
    workdir: Path,
    *,
    peers: Sequence[str],
    uncached: bool,
    duration: float,
    warmup: float,
    connections: int,
    server_cpu: int | None,
    client_cpu: int | None,
) -> None:
    starters: dict[str, Callable[[], Server]] = {
        "ours": lambda: start_ours(workdir, cpu=server_cpu),
    }
    if uncached:
        starters["ours, --no-cache"] = lambda: start_ours(workdir, cache=False, cpu=server_cpu)
    spec = prism_spec(workdir) if peers else None
    if "Prism" in peers:
        starters["Prism"] = lambda: start_prism(workdir, cpu=server_cpu)
    if "Mockoon" in peers and spec is not None:
        starters["Mockoon"] = lambda: start_mockoon(workdir, spec, cpu=server_cpu)
    if "WireMock" in peers and spec is not None:
        starters["WireMock"] = lambda: start_wiremock(workdir, spec, cpu=server_cpu)
    measured: dict[str, dict[str, wrk.WrkResult]] = {}
    for name, start in starters.items():
        say(f"starting {name}")
        with start() as server:
            run.start_times[name] = server.started_in
            say(f"{name} answered {server.started_in:.2f} s after launch")
            if name == "WireMock" and warmup:
                # Java compiles its hot paths after a while: measured once it has.
                url = server.base_url + REQUEST_TYPES[0].path
                wrk.run(url, headers=HEADERS, duration=10, connections=connections, cpu=client_cpu)
            measured[name] = load(
                server,
                run,
                duration=duration,
                warmup=warmup,
                connections=connections,
                cpu=client_cpu,
            )
    for ours, rows in (("ours", run.comparisons), ("ours, --no-cache", run.uncached)):
        if ours not in measured:
            continue
        for request in REQUEST_TYPES:
            rows.append(
                Comparison(
                    request.name,
                    measured[ours][request.name],
                    {p: measured[p][request.name] for p in peers if p in measured},
                    int(request.expected),
                )
            )


def mixed_workload(
    run: Run,
    workdir: Path,
    *,
    duration: float,
    clients: int,
    server_cpu: int | None,
    client_cpu: int | None,
    workers: Sequence[int],
) -> None:
    """The workload that writes (:mod:`bench.mixed`), cache on, clock at x20, once per number
    of worker processes (with more than one, the servers share every core)."""
    for count in workers:
        name = f"{count} worker" + ("s" if count > 1 else "")
        cpu = server_cpu if count == 1 else None
        say(f"mixed workload: starting ours with {name}")
        with start_ours(
            workdir, cpu=cpu, extra=["--scale", "20", "--workers", str(count)]
        ) as server:
            pin = None if client_cpu is None else (lambda: os.sched_setaffinity(0, {client_cpu}))
            with run.meter.measure([server.pid]):
                result = mixed.run(
                    server.base_url,
                    clients=clients,
                    seconds=duration,
                    pin=pin if count == 1 else None,
                )
            if count == 1 and client_cpu is not None:
                os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))
        run.mixed[name] = result
        say(f"mixed, {name}: {result.rps:,.0f} req/s; {result.verdict()}")


def _load(values: Sequence[float]) -> str:
    return " / ".join(f"{v:.2f}" for v in values)


def markdown(run: Run) -> str:
    """The measured part of BENCHMARKS.md."""
    out = [
        f"Measured {run.started:%Y-%m-%d %H:%M} UTC by `{run.command}`.",
        "",
        "### Machine and versions",
        "",
        table(["", ""], [[k, v] for k, v in {**machine(), **versions()}.items()]),
        "",
        "### Load on the machine",
        "",
        f"- load average (1 / 5 / 15 min) before the run: {_load(run.load_before)}; after: "
        f"{_load(run.load_after)} (the run itself keeps about two cores busy).",
        f"- other processes during the measured runs (the machine's time in processes less "
        f"the servers' and wrk's): {run.meter.mean_other_cores:.2f} cores on average, "
        f"{run.meter.max_other_cores:.2f} at most.",
        f"- pinning: {run.options['pinning']}.",
    ]
    if run.comparisons:
        worst = [slowest(rows) for rows in (run.comparisons, run.uncached) if rows]
        out += [
            "",
            "### Ours vs Prism, Mockoon and WireMock",
            "",
            *(
                [
                    "Slowest ratio: "
                    + "; ".join(
                        f"{label} {name} {ratio:.1f}x {peer}"
                        for label, found in zip(
                            ("with the cache", "--no-cache"), worst, strict=False
                        )
                        if found is not None
                        for name, peer, ratio in [found]
                    )
                    + ".",
                    "",
                ]
            ),
            f"wrk, one thread, {run.options['concurrency']} keep-alive connections, "
            f"{run.options['duration']} s per request type after a {run.options['warmup']} s "
            "warm-up, header `ES-API-KEY: demo-admin-key`; the status mix is every response "
            "of the measured run.",
            "",
            comparison_table(run.comparisons),
            "",
            *(
                [
                    "",
                    "The same with ours started `--no-cache`, so that every request reads the "
                    "store and renders its answer:",
                    "",
                    comparison_table(run.uncached),
                ]
                if run.uncached
                else []
            ),
            "",
            "Start to first answer (launch to the first `GET /api/task/` answered): "
            + ", ".join(f"{name} {seconds:.2f} s" for name, seconds in run.start_times.items())
            + ".",
        ]
    if run.mixed:
        rows = []
        for name, result in run.mixed.items():
            for kind, measured in result.kinds.items():
                rows.append(
                    [
                        name,
                        kind,
                        f"{len(measured.latencies_us):,}",
                        f"{len(measured.latencies_us) / result.seconds:,.0f}",
                        f"{measured.percentile(50):.2f} / {measured.percentile(99):.2f}",
                        ", ".join(f"{s}×{n}" for s, n in sorted(measured.statuses.items())),
                        str(len(measured.wrong)),
                    ]
                )
        out += [
            "",
            "### A workload that writes",
            "",
            f"{run.options['mixed_clients']} clients of one process (bench/mixed.py), each on "
            f"a keep-alive connection, for {run.options['mixed_duration']} s; the answer cache "
            "on, the server's clock at x20 (a cancel answers after a second of the server's "
            "clock: 50 ms). One worker is pinned as above; two share both cores with the "
            "clients.",
            "",
            "| workers | requests/s | verdict |",
            "|---|---|---|",
            *(f"| {name} | {r.rps:,.0f} | {r.verdict()} |" for name, r in run.mixed.items()),
            "",
            table(
                ["workers", "kind", "requests", "req/s", "p50 / p99 ms", "statuses", "wrong"],
                rows,
            ),
        ]
    if run.scale_rows:
        out += [
            "",
            "### The task log at scale",
            "",
            f"Ours only; wrk over one connection, {run.options['scale_duration']} s per URL; "
            "pages of 100 entries, newest first, as the SuperAdmin `admin` (who sees the most); "
            f"filtered: `{LOG_FILTERS}`.",
            "",
            scale_table(run.scale_rows),
        ]
    if run.timings:
        out += [
            "",
            "### Other jobs",
            "",
            table(["job", "wall time, s", "outcome", "command"], [t.row() for t in run.timings]),
        ]
    return "\n".join(out) + "\n"


def write(path: Path, body: str) -> None:
    """Replace the measured part of ``path`` (between the markers), keeping the rest."""
    block = f"{BEGIN}\n{body}{END}"
    if path.exists() and BEGIN in (text := path.read_text()) and END in text:
        head, rest = text.split(BEGIN, 1)
        path.write_text(head + block + rest.split(END, 1)[1])
    else:
        path.write_text(f"# Benchmarks\n\n{block}\n")


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--duration", default=10.0, show_default=True, help="Seconds of load per request type."
)
@click.option("--warmup", default=2.0, show_default=True, help="Seconds of unmeasured load first.")
@click.option("-c", "--concurrency", default=16, show_default=True, help="wrk connections.")
@click.option("--quick", is_flag=True, help="Short runs and sizes up to 10^5: a smoke test.")
@click.option(
    "--peers",
    default=",".join(PEERS),
    show_default=True,
    help="The other mocks to measure, comma-separated ('' for none).",
)
@click.option(
    "--uncached/--no-uncached",
    default=True,
    show_default=True,
    help="Also measure ours started --no-cache.",
)
@click.option(
    "--compare/--no-compare",
    "with_prism_table",
    default=True,
    show_default=True,
    help="Ours vs the peers.",
)
@click.option(
    "--mixed/--no-mixed",
    "with_mixed",
    default=True,
    show_default=True,
    help="The workload that writes, with 1 and 2 workers.",
)
@click.option("--mixed-duration", default=15.0, show_default=True, help="Seconds of it.")
@click.option("--mixed-clients", default=32, show_default=True, help="Its clients.")
@click.option("--scale/--no-scale", "at_scale", default=True, show_default=True, help="Log sizes.")
@click.option(
    "--sizes",
    default="10000,100000,1000000,10000000",
    show_default=True,
    help="Log entries to measure at, comma-separated.",
)
@click.option("--scale-duration", default=5.0, show_default=True, help="Seconds per URL at scale.")
@click.option(
    "--suites/--no-suites",
    "time_suites",
    default=True,
    show_default=True,
    help="Time the contract suite and the docs build, if present.",
)
@click.option("--server-cpu", type=int, default=None, help="CPU to pin servers to (default 1).")
@click.option("--client-cpu", type=int, default=None, help="CPU to pin wrk to (default 0).")
@click.option("--no-pin", is_flag=True, help="Let servers and wrk share every core.")
@click.option(
    "--wait-idle",
    type=float,
    default=None,
    metavar="LOAD",
    help="First wait (up to 30 min) for a 1-minute load average below LOAD.",
)
@click.option(
    "--write",
    "write_to",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Rewrite the measured part of this file (BENCHMARKS.md).",
)
def main(
    duration: float,
    warmup: float,
    concurrency: int,
    quick: bool,
    peers: str,
    uncached: bool,
    with_prism_table: bool,
    with_mixed: bool,
    mixed_duration: float,
    mixed_clients: int,
    at_scale: bool,
    sizes: str,
    scale_duration: float,
    time_suites: bool,
    server_cpu: int | None,
    client_cpu: int | None,
    no_pin: bool,
    wait_idle: float | None,
    write_to: Path | None,
) -> None:
    """Benchmark the reference server against Prism, Mockoon and WireMock on the same spec and
    requests, under a workload that writes with 1 and 2 workers, and with the task log at
    10^4 to 10^7 entries; print the tables."""
    if quick:
        duration, warmup, scale_duration = min(duration, 3), min(warmup, 1), min(scale_duration, 2)
        mixed_duration = min(mixed_duration, 3)
        sizes = ",".join(s for s in sizes.split(",") if int(s) <= 100_000)
    chosen = [p.strip() for p in peers.split(",") if p.strip()]
    unknown = set(chosen) - set(PEERS)
    if unknown:
        raise click.BadParameter(f"{sorted(unknown)}: choose among {', '.join(PEERS)}")
    if not no_pin and (os.cpu_count() or 1) >= 2:
        server_cpu = 1 if server_cpu is None else server_cpu
        client_cpu = 0 if client_cpu is None else client_cpu
    pinning = (
        f"servers on CPU {server_cpu}, wrk on CPU {client_cpu} (taskset)"
        if server_cpu is not None or client_cpu is not None
        else "none: servers and wrk share the cores"
    )
    if wait_idle is not None:
        wait_until_idle(wait_idle, 1800, say)
    argv = " ".join(shlex.quote(a) for a in sys.argv[1:])
    run = Run(
        options={
            "duration": duration,
            "warmup": warmup,
            "concurrency": concurrency,
            "scale_duration": scale_duration,
            "pinning": pinning,
            "mixed_duration": mixed_duration,
            "mixed_clients": mixed_clients,
        },
        command=f"python -m bench {argv}".strip(),
        started=datetime.now(UTC),
        load_before=load_average(),
    )
    say(f"load average {_load(run.load_before)}; {pinning}")
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        workdir = Path(tmp)
        if with_prism_table:
            compare_servers(
                run,
                workdir,
                peers=chosen,
                uncached=uncached,
                duration=duration,
                warmup=warmup,
                connections=concurrency,
                server_cpu=server_cpu,
                client_cpu=client_cpu,
            )
        if with_mixed:
            mixed_workload(
                run,
                workdir,
                duration=mixed_duration,
                clients=mixed_clients,
                server_cpu=server_cpu,
                client_cpu=client_cpu,
                workers=(1, 2),
            )
        if at_scale:
            for entries in (int(s) for s in sizes.split(",") if s):
                run.scale_rows.append(
                    scale.measure(
                        workdir,
                        entries,
                        duration=scale_duration,
                        warmup=min(warmup, 1),
                        server_cpu=server_cpu,
                        client_cpu=client_cpu,
                        meter=run.meter,
                        say=say,
                    )
                )
    if time_suites:
        for timing in (suites.contract_suite, suites.docs_build):
            say(f"timing: {timing.__name__}")
            run.timings.append(timing())
    run.load_after = load_average()
    body = markdown(run)
    click.echo(body)
    if write_to is not None:
        write(write_to, body)
        say(f"wrote {write_to}")


if __name__ == "__main__":
    main()
