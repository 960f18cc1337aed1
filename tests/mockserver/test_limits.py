"""The audit's hostile requests against ``esdc-api serve`` as a user runs it (issue 12 H1, L1,
L2, L7): each is refused in the API's error shape, and none slows another client down."""

from __future__ import annotations

import json
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import raw_exchange
from tests.mockserver.test_serve import start, stop

ALICE = {"ES-API-KEY": "demo-alice-key"}
#: The audit's Accept header: 14 s of a frozen server in the old parser.
HOSTILE_ACCEPT = "application/json;" * 12000


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    process, url, _ = start("--no-throttle", "--scale", "0", "--max-body-size", "1000000")
    try:
        yield url
    finally:
        stop(process)


def connect(url: str) -> socket.socket:
    host, port = url.removeprefix("http://").rsplit(":", 1)
    return socket.create_connection((host, int(port)), timeout=30)


def read_answer(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """One answer, read by its Content-Length (the connection may stay open)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    line, *fields = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (f.partition(":") for f in fields)}
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return int(line.split()[1]), headers, body


def closed(sock: socket.socket) -> bool:
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


#: Another client, in its own process (so that the hostile sender's work in this one does
#: not count as the server's): it asks for alice's task list until its stdin closes, then
#: prints the seconds each answer took and the statuses it got.
PROBE = """
import json, sys, threading, time, httpx
done = threading.Event()
threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
client = httpx.Client(base_url=sys.argv[1], headers={"ES-API-KEY": "demo-alice-key"}, timeout=30)
latencies, statuses = [], set()
print("ready", flush=True)
while not done.is_set():
    started = time.perf_counter()
    statuses.add(client.get("/api/task/").status_code)
    latencies.append(time.perf_counter() - started)
    time.sleep(0.002)
print(json.dumps({"latencies": latencies, "statuses": sorted(statuses)}))
"""


def hostile_accept(url: str) -> None:
    answer = httpx.get(f"{url}/api/task/", headers={"Accept": HOSTILE_ACCEPT}, timeout=30)
    assert answer.status_code == 431
    assert "--max-header-size" in answer.json()["detail"]


def accept_over_the_line_cap(url: str) -> None:
    """20 kB: within the headers' total, over what one header may take."""
    accept = "application/json;" * 1200
    answer = httpx.get(f"{url}/api/task/", headers={**ALICE, "Accept": accept}, timeout=30)
    assert answer.status_code == 431
    assert "'Accept'" in answer.json()["detail"] and "--max-header-line" in answer.text


def accept_under_the_cap(url: str) -> None:
    """The same pattern as long as one header may be: read in linear time, answered."""
    accept = "application/json;" * 900  # 15.3 kB
    answer = httpx.get(f"{url}/api/task/", headers={**ALICE, "Accept": accept}, timeout=30)
    assert answer.status_code == 200


def many_headers(url: str) -> None:
    """The audit's 100 MB of headers: refused after the first 64 kB, and read no further."""
    with connect(url) as sock:
        sock.sendall(b"GET /api/task/ HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        line = b"X-Filler: " + b"a" * 1000 + b"\r\n"
        sent = 0
        with pytest.raises(OSError):  # the server closed the connection: nobody reads on
            while sent < 100_000_000:
                sock.sendall(line * 100)
                sent += len(line) * 100
        assert sent < 20_000_000


def many_headers_answer(url: str) -> None:
    with connect(url) as sock:
        sock.sendall(
            b"GET /api/task/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            + b"".join(b"X-Filler-%d: %s\r\n" % (i, b"a" * 1000) for i in range(80))
        )
        status, headers, body = read_answer(sock)
        assert (status, headers["content-type"]) == (431, "application/json")
        assert "--max-header-size" in body.decode()
        assert closed(sock)


def declared_huge_body(url: str) -> None:
    """A body that says it is 10 GB gets 413 before a byte of it is read."""
    with connect(url) as sock:
        sock.sendall(
            b"POST /api/accounts/login/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nContent-Length: 10000000000\r\n\r\n"
        )
        status, headers, body = read_answer(sock)
        assert (status, headers["content-type"]) == (413, "application/json")
        assert "--max-body-size" in body.decode()


def chunked_big_body(url: str) -> None:
    """A chunked body over the limit (1 MB here) gets 413 once the limit is passed; the rest
    is read and dropped, so the client's next request on the connection is answered."""
    piece = b'"' + b"x" * 65534 + b'"'
    body = b"".join(b"%x\r\n%s\r\n" % (len(piece), piece) for _ in range(24)) + b"0\r\n\r\n"
    with connect(url) as sock:
        sock.sendall(
            b"POST /control/tasks/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" + body
        )
        status, _, answer = read_answer(sock)
        assert status == 413 and b"detail" in answer
        sock.sendall(b"GET /control/clock/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert read_answer(sock)[0] == 200


HOSTILE = (
    hostile_accept,
    accept_over_the_line_cap,
    accept_under_the_cap,
    many_headers,
    many_headers_answer,
    declared_huge_body,
    chunked_big_body,
)


def probed(server: str) -> list[float]:
    """How long each of the probe's answers took while the hostile requests were sent, three
    times each (and each answered as it must be)."""
    probe = subprocess.Popen(
        [sys.executable, "-c", PROBE, server],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert probe.stdin is not None and probe.stdout is not None
    assert probe.stdout.readline().strip() == "ready"
    time.sleep(0.3)
    try:
        for hostile in HOSTILE:
            for _ in range(3):
                hostile(server)
    finally:
        report, _ = probe.communicate(timeout=60)
    measured = json.loads(report)
    assert measured["statuses"] == [200]
    assert len(measured["latencies"]) > 20
    return list(measured["latencies"])


def test_hostile_headers_and_bodies_leave_a_concurrent_client_under_50_ms(server: str) -> None:
    """Issue 12 H1: the audit's 204 kB Accept header held every other client for 14 s;
    100 MB of headers and 50 MB bodies were read whole (without the limits, a 50 MB body
    still holds the probe about 600 ms). The figure is the probe's slowest answer while they
    are sent. On a shared 2-core machine the scheduler alone can delay one answer by tens of
    milliseconds now and then, so a round may be repeated, up to three: a server that blocks
    does so in every round."""
    rounds = []
    for _ in range(3):
        latencies = probed(server)
        rounds.append(
            f"{len(latencies)} answers, median {statistics.median(latencies) * 1000:.1f} ms, "
            f"max {max(latencies) * 1000:.1f} ms"
        )
        if max(latencies) < 0.050:
            break
    print("probe:", "; ".join(rounds))
    assert max(latencies) < 0.050, rounds


def test_a_request_that_never_finishes_arriving_gets_408_and_is_closed() -> None:
    """Issue 12 L2: half a request line, a silent connection, and headers trickled one every
    few seconds were all still open after 30 s."""
    process, url, _ = start("--no-throttle", "--request-timeout", "1")
    try:
        with connect(url) as half, connect(url) as silent, connect(url) as trickle:
            half.sendall(b"GET /api/ta")
            trickle.sendall(b"GET /api/task/ HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            started = time.monotonic()
            for i in range(3):
                time.sleep(0.4)
                try:
                    trickle.sendall(b"X-Slow-%d: 1\r\n" % i)
                except OSError:
                    break
            status, _, body = read_answer(half)
            assert status == 408 and b"--request-timeout" in body
            assert closed(half) and closed(silent)
            assert read_answer(trickle)[0] == 408
            assert time.monotonic() - started < 5
        # a request that arrives in time is answered, however long the answer takes
        assert httpx.get(f"{url}/api/task/", headers=ALICE, timeout=30).status_code == 200
    finally:
        stop(process)


def test_x_forwarded_for_does_not_get_around_the_anonymous_throttle() -> None:
    """Issue 12 L7: uvicorn trusted X-Forwarded-For from 127.0.0.1, so 35 wrong-password
    logins with a new address each got no 429."""
    process, url, _ = start("--anon-rate", "5/min")
    try:
        statuses = [
            httpx.post(
                f"{url}/api/accounts/login/",
                json={"username": "alice", "password": "wrong"},
                headers={"X-Forwarded-For": f"203.0.113.{i}"},
                timeout=30,
            ).status_code
            for i in range(8)
        ]
    finally:
        stop(process)
    assert statuses.count(429) >= 3, statuses


def test_forwarded_allow_ips_trusts_the_proxy_it_names() -> None:
    process, url, _ = start("--anon-rate", "5/min", "--forwarded-allow-ips", "127.0.0.1")
    try:
        statuses = [
            httpx.post(
                f"{url}/api/accounts/login/",
                json={"username": "alice", "password": "wrong"},
                headers={"X-Forwarded-For": f"203.0.113.{i}"},
                timeout=30,
            ).status_code
            for i in range(8)
        ]
    finally:
        stop(process)
    assert 429 not in statuses, statuses


def test_serve_help_documents_every_limit() -> None:
    """Issue 12 L1, L2: the limits are documented in ``--help``, with their defaults."""
    from click.testing import CliRunner

    from esdc_api.cli import cli

    text = CliRunner().invoke(cli, ["serve", "--help"], terminal_width=200).output
    for option, default in (
        ("--max-header-size", "65536"),
        ("--max-header-line", "16384"),
        ("--max-body-size", "1048576"),
        ("--request-timeout", "30.0"),
        ("--max-connections", "1000"),
        ("--forwarded-allow-ips", None),
    ):
        assert option in text
        if default is not None:
            assert f"[default: {default};" in text.split(option, 1)[1].split("\n  --", 1)[0]


def test_pipelined_requests_are_still_answered_in_order(server: str) -> None:
    """The protocol's limits keep what the audit found working: pipelining."""
    received = raw_exchange(
        server,
        b"GET /control/clock/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
        b"GET /api/task/ HTTP/1.1\r\nHost: 127.0.0.1\r\nES-API-KEY: demo-alice-key\r\n"
        b"Connection: close\r\n\r\n",
    )
    first, second = received.split(b"HTTP/1.1 ")[1:]
    assert first.startswith(b"200 ") and b'"frozen"' in first
    assert second.startswith(b"200 ") and second.endswith(b"]")
