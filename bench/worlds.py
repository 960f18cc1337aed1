"""``python -m bench.worlds``: what a named world costs, measured on a running server.

Starts ``esdc-api serve``, makes ``--count`` named worlds through ``POST /control/worlds/``
(copies of the demo world) and prints how long each took and how much the server's resident
memory grew per world, then sends one request to each world to show they all answer. Like the
rest of ``bench/`` it talks to the server over HTTP only.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import click
import httpx

from bench.servers import start_ours


@click.command()
@click.option("--count", default=100, show_default=True, help="How many worlds to make.")
@click.option("--history", default=400, show_default=True, help="The demo world's history.")
def main(count: int, history: int) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-worlds-") as workdir:
        server = start_ours(
            Path(workdir), history=history, extra=["--max-worlds", str(count), "--scale", "0"]
        )
        try:
            with httpx.Client(base_url=server.base_url, timeout=60) as client:
                client.get("/control/").raise_for_status()
                # The first world builds the template (the world file, once): time it apart.
                started = time.perf_counter()
                client.post("/control/worlds/", json={"name": "first"}).raise_for_status()
                first = time.perf_counter() - started
                before = server.memory_kib()["VmRSS"]
                took = []
                for n in range(count - 1):
                    started = time.perf_counter()
                    made = client.post("/control/worlds/", json={"name": f"w{n}"})
                    took.append(time.perf_counter() - started)
                    made.raise_for_status()
                after = server.memory_kib()["VmRSS"]
                sizes = [w["store_bytes"] for w in client.get("/control/worlds/").json()["worlds"]]
                headers = {"ES-API-KEY": "demo-alice-key"}
                answered = sum(
                    client.get(f"/w/w{n}/api/task/", headers=headers).status_code == 200
                    for n in range(count - 1)
                )
                grown = after - server.memory_kib()["VmRSS"]
        finally:
            server.stop()
    click.echo(f"first world (builds the template): {first * 1000:.0f} ms")
    click.echo(
        f"each further world: median {statistics.median(took) * 1000:.1f} ms, "
        f"max {max(took) * 1000:.1f} ms over HTTP (POST /control/worlds/)"
    )
    click.echo(
        f"resident memory: +{(after - before) / (count - 1):.0f} KiB per world "
        f"({before} -> {after} KiB for {count - 1} worlds; +{-grown} KiB more once each answered)"
    )
    click.echo(f"its database: {statistics.median(sizes) / 1024:.0f} KiB (store_bytes)")
    click.echo(f"{answered} of {count - 1} worlds answered GET /w/<name>/api/task/")


if __name__ == "__main__":
    main()
