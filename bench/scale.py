"""The task log at the sizes real deployments reach: load it, then time its pages and stats.

For each size the reference server is started with that much history (``--history``; every
finished task logs two entries) and without its answer cache (``--no-cache``), so that every
request reads the store; each URL is loaded over one connection, so that the latencies are
those of one request at a time.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from bench import wrk
from bench.machine import CpuMeter
from bench.report import ScaleRow
from bench.servers import HEADERS, ServerError, get, start_ours
from bench.workload import LOG_FILTERS


def _pages(base: str, query: str) -> dict[str, str]:
    """First, middle and last page of the log filtered by ``query``."""
    status, body = get(f"{base}/api/task/log/?page=1{'&' if query else ''}{query}")
    if status != 200:
        raise ServerError(f"page 1 of the log answered {status}: {body[:200]!r}")
    count = json.loads(body)["count"]
    last = max(1, -(-count // 100))
    suffix = f"&{query}" if query else ""
    return {
        "first": f"/api/task/log/?page=1{suffix}",
        "middle": f"/api/task/log/?page={(last + 1) // 2}{suffix}",
        "last": f"/api/task/log/?page={last}{suffix}",
    }


def urls(base: str) -> dict[str, str]:
    found = {f"log page, {k}": v for k, v in _pages(base, "").items()}
    found |= {f"log page, {k}, filtered": v for k, v in _pages(base, LOG_FILTERS).items()}
    found["stats"] = "/api/task/log/stats/"
    return found


def measure(
    workdir: Path,
    entries: int,
    *,
    duration: float,
    warmup: float,
    server_cpu: int | None,
    client_cpu: int | None,
    meter: CpuMeter,
    say: Callable[[str], None],
) -> ScaleRow:
    history = max(0, entries // 2)
    say(f"scale: starting the server with {history:,} finished tasks")
    with start_ours(workdir, history=history, cache=False, cpu=server_cpu) as server:
        memory = server.memory_kib()
        overview = json.loads(get(f"{server.base_url}/control/")[1])
        latencies = {}
        for name, path in urls(server.base_url).items():
            url = server.base_url + path
            if warmup:
                wrk.run(url, headers=HEADERS, duration=warmup, connections=1, cpu=client_cpu)
            with meter.measure([server.pid]):
                latencies[name] = wrk.run(
                    url, headers=HEADERS, duration=duration, connections=1, cpu=client_cpu
                )
            say(
                f"scale {overview['log_entries']:,}: {name}: "
                f"p50 {latencies[name].p50_ms:.2f} ms ({latencies[name].status_mix()})"
            )
        peak = server.memory_kib()["VmHWM"]
        return ScaleRow(
            entries=overview["log_entries"],
            load_s=server.started_in,
            ready_s=server.extra.get("ready_in", "?"),
            rss_mib=memory["VmRSS"] / 1024,
            peak_mib=peak / 1024,
            latencies=latencies,
        )
