"""A workload that writes, as a frontend's test suite makes it: many clients polling status and
done of their own tasks, some creating tasks through the control API, some cancelling, some
reading log pages and statistics, with the answer cache on.

The clients are coroutines of one process (:func:`run`), each on its own keep-alive
connection, speaking just enough HTTP/1.1; each records, per kind of request, its latency and
whether the answer was the one it must be:

- **create** (``POST /control/tasks/``): 201 (or 200) with the new task's id; the task runs
  a few seconds of the server's clock, or until cancelled;
- **status** / **done** of one's own task: 201 while it runs, then 200 (``SUCCESS``) or 410
  (``REVOKED``, once cancelled), never anything else, and never back to running;
- **cancel** of one's own running task: 410 (``REVOKED``), or, if it had just ended, 200
  (``SUCCESS``) or 406 (no longer in the task list);
- **log page** and **stats** as the admin: 200.

At the end the statistics must equal the log: every status's count over the window is the
number of entries of that status the log pages hold (:func:`check_stats`).

The server runs its clock fast (``--scale``): a cancel answers after a second of the server's
clock, as real deployments sleep one, and at scale 1 that would be a real second per cancel.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

#: Kinds of request and how often a client makes each, per 100 requests.
MIX = {"status": 40, "done": 30, "log page": 10, "stats": 8, "create": 7, "cancel": 5}
RUNNING, DONE = (201,), (200, 410)


@dataclass
class Kind:
    """What one kind of request got."""

    latencies_us: list[int] = field(default_factory=list)
    wrong: list[str] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)

    def add(self, status: int, latency_us: int, problem: str | None) -> None:
        self.latencies_us.append(latency_us)
        self.statuses[status] = self.statuses.get(status, 0) + 1
        if problem is not None and len(self.wrong) < 5:
            self.wrong.append(problem)
        elif problem is not None:
            self.wrong.append("")

    def percentile(self, p: float) -> float:
        """The ``p`` th percentile latency in milliseconds."""
        if not self.latencies_us:
            return 0.0
        ordered = sorted(self.latencies_us)
        return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))] / 1000


@dataclass
class MixedResult:
    seconds: float
    kinds: dict[str, Kind]
    stats_problem: str | None = None

    @property
    def requests(self) -> int:
        return sum(len(k.latencies_us) for k in self.kinds.values())

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def wrong(self) -> int:
        return sum(len(k.wrong) for k in self.kinds.values())

    def verdict(self) -> str:
        problems = [
            f"{name}: {len(kind.wrong)} wrong ({'; '.join(w for w in kind.wrong if w)[:200]})"
            for name, kind in self.kinds.items()
            if kind.wrong
        ]
        if self.stats_problem:
            problems.append(self.stats_problem)
        return "; ".join(problems) or "every answer as expected; stats equal the log"


class Connection:
    """One keep-alive HTTP/1.1 connection."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(
        self, method: str, path: str, headers: dict[str, str], body: bytes = b""
    ) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        if body or method in ("POST", "PUT"):
            lines.append(f"Content-Length: {len(body)}")
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        assert self.reader is not None
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        return status, await self.reader.readexactly(length)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


ADMIN = {"ES-API-KEY": "demo-admin-key"}
ALICE = {"ES-API-KEY": "demo-alice-key"}


@dataclass
class Client:
    """One frontend: its tasks and what it saw of each."""

    connection: Connection
    rng: random.Random
    kinds: dict[str, Kind]
    tasks: dict[str, bool] = field(default_factory=dict)  # id -> has ended
    cancelled: set[str] = field(default_factory=set)

    def pick(self) -> str:
        kind = self.rng.choices(list(MIX), weights=list(MIX.values()))[0]
        running = [t for t, ended in self.tasks.items() if not ended and t not in self.cancelled]
        if kind in ("status", "done") and not self.tasks:
            return "create"
        if kind == "cancel" and not running:
            return "create" if len(self.tasks) < 4 else "status"
        return kind

    async def step(self) -> None:
        kind = self.pick()
        started = time.perf_counter_ns()
        problem: str | None = None
        if kind == "create":
            runs = self.rng.choice([None, 2, 5, 20])
            body = json.dumps({"creator": "alice", "runs": runs}).encode()
            headers = {"Content-Type": "application/json"}
            status, answer = await self.connection.request("POST", "/control/tasks/", headers, body)
            if status in (200, 201):
                self.tasks[json.loads(answer)["task_id"]] = False
            else:
                problem = f"create: {status}"
        elif kind in ("status", "done"):
            task = self.rng.choice(list(self.tasks))
            path = f"/api/task/{task}/{kind}/"
            status, answer = await self.connection.request("GET", path, ALICE)
            ended = self.tasks[task]
            allowed: tuple[int, ...] = DONE if ended else (*RUNNING, *DONE)
            if task in self.cancelled:
                allowed = (410,)
            if status not in allowed:
                problem = f"{kind} {task}: {status} (ended before: {ended})"
            elif status in DONE:
                self.tasks[task] = True
            if kind == "status" and status in DONE:
                state = json.loads(answer)["status"]
                if state != {200: "SUCCESS", 410: "REVOKED"}[status]:
                    problem = f"status {task}: {status} with {state}"
        elif kind == "cancel":
            running = [
                t for t, ended in self.tasks.items() if not ended and t not in self.cancelled
            ]
            task = self.rng.choice(running)
            path = f"/api/task/{task}/cancel/"
            status, answer = await self.connection.request("PUT", path, ALICE, b"")
            if status == 410:
                self.cancelled.add(task)
                self.tasks[task] = True
            elif status in (200, 406):  # it had ended (and left the list) just before
                self.tasks[task] = True
            else:
                problem = f"cancel {task}: {status}"
        elif kind == "log page":
            page = self.rng.choice([1, 1, 1, 2, 3])
            status, _answer = await self.connection.request(
                "GET", f"/api/task/log/?page={page}", ADMIN
            )
            problem = None if status == 200 else f"log page {page}: {status}"
        else:
            status, _answer = await self.connection.request("GET", "/api/task/log/stats/", ADMIN)
            problem = None if status == 200 else f"stats: {status}"
        self.kinds[kind].add(status, (time.perf_counter_ns() - started) // 1000, problem)


async def _run(base_url: str, clients: int, seconds: float, seed: int) -> MixedResult:
    split = urlsplit(base_url)
    host, port = split.hostname or "127.0.0.1", split.port or 80
    kinds = {name: Kind() for name in MIX}
    rng = random.Random(seed)
    made = [
        Client(Connection(host, port), random.Random(rng.random()), kinds) for _ in range(clients)
    ]
    deadline = time.monotonic() + seconds

    async def loop(client: Client) -> None:
        while time.monotonic() < deadline:
            await client.step()

    started = time.monotonic()
    try:
        await asyncio.gather(*(loop(c) for c in made))
    finally:
        for client in made:
            client.connection.close()
    result = MixedResult(time.monotonic() - started, kinds)
    result.stats_problem = await check_stats(host, port)
    return result


async def check_stats(host: str, port: int) -> str | None:
    """``None`` if the statistics of the whole log equal the entries of each status its pages
    hold, else what differs. The server's clock is frozen first, so that both read one log."""
    connection = Connection(host, port)
    try:
        await connection.request("POST", "/control/clock/freeze/", {}, b"")
        last = 10**9
        _, body = await connection.request("GET", f"/api/task/log/stats/?last={last}", ADMIN)
        stats = json.loads(body)
        counted = {}
        for name, status in (
            ("pending", "PENDING"),
            ("succeeded", "SUCCESS"),
            ("failed", "FAILURE"),
            ("revoked", "REVOKED"),
        ):
            _, page = await connection.request(
                "GET", f"/api/task/log/?page=1&status={status}", ADMIN
            )
            counted[name] = json.loads(page)["count"]
        differs = {k: (stats[k], n) for k, n in counted.items() if stats[k] != n}
        return None if not differs else f"stats differ from the log (stats, log): {differs}"
    finally:
        connection.close()


def run(
    base_url: str,
    *,
    clients: int = 32,
    seconds: float = 10.0,
    seed: int = 1,
    pin: Callable[[], None] | None = None,
) -> MixedResult:
    """Run the workload against the server at ``base_url`` for ``seconds``."""
    if pin is not None:
        pin()
    return asyncio.run(_run(base_url, clients, seconds, seed))
