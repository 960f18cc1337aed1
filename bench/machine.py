"""The machine and the versions a run measured on, and how busy the machine was meanwhile."""

from __future__ import annotations

import os
import platform
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from bench.peers import version_of
from bench.servers import PRISM


def load_average() -> tuple[float, float, float]:
    one, five, fifteen = Path("/proc/loadavg").read_text().split()[:3]
    return float(one), float(five), float(fifteen)


def wait_until_idle(threshold: float, timeout: float, say: object = print) -> float:
    """Wait until the 1-minute load average is below ``threshold``; return it."""
    deadline = time.monotonic() + timeout
    while (load := load_average()[0]) >= threshold and time.monotonic() < deadline:
        if callable(say):
            say(f"load average {load:.2f} >= {threshold:g}; waiting")
        time.sleep(15)
    return load


def _command_version(command: list[str]) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    except OSError:
        return "not found"
    text = (done.stdout or done.stderr).strip().splitlines()
    return text[0] if text else "unknown"


def _package(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine() -> dict[str, str]:
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = next(
        (line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if "model name" in line),
        platform.processor() or "unknown",
    )
    meminfo = Path("/proc/meminfo").read_text().splitlines()
    total_kib = int(next(line for line in meminfo if line.startswith("MemTotal")).split()[1])
    return {
        "nproc": str(os.cpu_count()),
        "CPU": model,
        "memory": f"{total_kib / 1024 / 1024:.1f} GiB",
        "kernel": platform.release(),
    }


def versions() -> dict[str, str]:
    return {
        "Python": sys.version.split()[0],
        "connexion": _package("connexion"),
        "starlette": _package("starlette"),
        "uvicorn": _package("uvicorn"),
        "uvloop": _package("uvloop"),
        "httptools": _package("httptools"),
        "SQLite": sqlite3.sqlite_version,
        "Prism": _command_version([str(PRISM), "--version"]),
        "Mockoon CLI": version_of("Mockoon"),
        "WireMock": version_of("WireMock"),
        "Java": _command_version(["java", "-version"]),
        "Node.js": _command_version(["node", "--version"]),
        "wrk": _command_version(["wrk", "-v"]),
    }


def _busy_jiffies() -> int:
    """Time the machine spent running processes (and lost to its hypervisor). Interrupts are
    left out: the loopback traffic of the load itself is handled there, charged to nobody."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, _irq, _softirq, steal = (int(f) for f in fields[:8])
    return user + nice + system + steal


def _process_jiffies(pid: int) -> int:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0
    fields = stat.rsplit(")", 1)[1].split()
    # utime, stime, cutime, cstime: fields 14-17 of stat(5), counted from the state field
    return sum(int(f) for f in fields[11:15])


def _descendants(pid: int) -> list[int]:
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        children = Path(f"/proc/{current}/task/{current}/children")
        try:
            queue += [int(c) for c in children.read_text().split()]
        except OSError:
            continue
    return found


@dataclass
class CpuMeter:
    """How many cores *other* processes kept busy while the benchmark ran: the time the machine
    spent in processes less the time of the processes under test (the servers and wrk)."""

    samples: list[float] = field(default_factory=list)

    def measure(self, pids: Iterable[int]) -> _Span:
        """A span to run the load in: ``pids`` are the servers; this process and its
        children (wrk, whose time is added to ours once it is reaped) count as ours too."""
        return _Span(self, [os.getpid(), *pids])

    @property
    def max_other_cores(self) -> float:
        return max(self.samples, default=0.0)

    @property
    def mean_other_cores(self) -> float:
        return sum(self.samples) / len(self.samples) if self.samples else 0.0


class _Span:
    def __init__(self, meter: CpuMeter, pids: list[int]) -> None:
        self.meter, self.pids = meter, pids

    def _ours(self) -> int:
        pids = {p for pid in self.pids for p in _descendants(pid)}
        return sum(_process_jiffies(pid) for pid in pids)

    def __enter__(self) -> _Span:
        self.wall, self.busy, self.ours = time.monotonic(), _busy_jiffies(), self._ours()
        return self

    def __exit__(self, *exc: object) -> None:
        hz = os.sysconf("SC_CLK_TCK")
        wall = time.monotonic() - self.wall
        busy = _busy_jiffies() - self.busy
        ours = self._ours() - self.ours
        if wall > 0:
            self.meter.samples.append(max(0.0, (busy - ours) / hz / wall))
