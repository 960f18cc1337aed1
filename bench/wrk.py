"""Running ``wrk`` (Debian's package) and reading what it printed.

A Lua script makes wrk print, besides its usual report, every response status it saw and the
exact latency percentiles, one fact a line (``bench-status 200 1471``), which :func:`parse`
reads: a benchmark of 403s or 404s is worthless, so the status mix is always checked.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

SCRIPT = """
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) statuses = {} end
function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end
function done(summary, latency, requests)
  for _, t in ipairs(threads) do
    for status, n in pairs(t:get("statuses")) do
      io.write(string.format("bench-status %d %d\\n", status, n))
    end
  end
  for _, p in ipairs({50, 90, 99}) do
    io.write(string.format("bench-latency %g %d\\n", p, latency:percentile(p)))
  end
  local e = summary.errors
  io.write(string.format("bench-summary %d %d %d %d\\n", summary.requests, summary.duration,
    summary.bytes, e.connect + e.read + e.write + e.timeout))
end
"""


class WrkError(RuntimeError):
    """Raised when wrk fails or prints nothing this module can read."""


@dataclass
class WrkResult:
    """What one wrk run measured."""

    requests: int
    duration_us: int
    bytes: int
    errors: int  # socket errors and timeouts (wrk counts non-2xx/3xx separately, as statuses)
    latency_us: dict[float, int]  # percentile -> microseconds
    statuses: dict[int, int] = field(default_factory=dict)

    @property
    def rps(self) -> float:
        return self.requests / (self.duration_us / 1e6) if self.duration_us else 0.0

    @property
    def p50_ms(self) -> float:
        return self.latency_us[50] / 1000

    @property
    def p99_ms(self) -> float:
        return self.latency_us[99] / 1000

    @property
    def bytes_per_response(self) -> int:
        return self.bytes // self.requests if self.requests else 0

    def share(self, status: int) -> float:
        """The fraction of responses with ``status``."""
        total = sum(self.statuses.values())
        return self.statuses.get(status, 0) / total if total else 0.0

    def status_mix(self) -> str:
        """``200×51234`` or ``200×10, 404×3``."""
        return ", ".join(f"{status}×{n}" for status, n in sorted(self.statuses.items())) or "-"


_LINE = re.compile(r"^bench-(status|latency|summary) (.+)$", re.MULTILINE)


def parse(output: str) -> WrkResult:
    """Read the lines :data:`SCRIPT` makes wrk print."""
    statuses: dict[int, int] = {}
    latency: dict[float, int] = {}
    summary: list[int] | None = None
    for kind, rest in _LINE.findall(output):
        values = rest.split()
        if kind == "status":
            statuses[int(values[0])] = statuses.get(int(values[0]), 0) + int(values[1])
        elif kind == "latency":
            latency[float(values[0])] = int(values[1])
        else:
            summary = [int(v) for v in values]
    if summary is None or len(summary) != 4 or not {50.0, 99.0} <= set(latency):
        raise WrkError(f"wrk printed no bench- summary; its output was:\n{output[-2000:]}")
    requests, duration_us, size, errors = summary
    return WrkResult(requests, duration_us, size, errors, latency, statuses)


def run(
    url: str,
    *,
    headers: dict[str, str],
    duration: float,
    connections: int,
    cpu: int | None = None,
    timeout: float = 5.0,
) -> WrkResult:
    """Load ``url`` with wrk for ``duration`` seconds over ``connections`` keep-alive
    connections (one thread), pinned to ``cpu`` if given."""
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "statuses.lua"
        script.write_text(SCRIPT)
        command = [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{max(1, round(duration))}s",
            f"--timeout={timeout:g}s",
            "--latency",
            "-s",
            str(script),
        ]
        for name, value in headers.items():
            command += ["-H", f"{name}: {value}"]
        command.append(url)
        if cpu is not None:
            command = ["taskset", "-c", str(cpu), *command]
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=duration + 60, check=False
        )
    if done.returncode != 0:
        raise WrkError(f"wrk exited with {done.returncode}: {done.stderr.strip()[-2000:]}")
    return parse(done.stdout)
