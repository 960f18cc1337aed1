"""Reading what wrk printed: the status mix and exact latencies come from the Lua script."""

from __future__ import annotations

import pytest

from bench.wrk import SCRIPT, WrkError, parse

OUTPUT = """Running 1s test @ http://127.0.0.1:4010/api/task/log/
  1 threads and 4 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     3.08ms    2.44ms  20.58ms   86.83%
    Req/Sec     1.47k   478.20     2.20k    70.00%
  Latency Distribution
     50%    2.02ms
     75%    3.69ms
     90%    6.03ms
     99%   12.56ms
  1471 requests in 1.01s, 1.26MB read
  Non-2xx or 3xx responses: 21
Requests/sec:   1463.51
Transfer/sec:      1.25MB
bench-status 200 1450
bench-status 404 21
bench-latency 50 2017
bench-latency 90 6027
bench-latency 99 12557
bench-summary 1471 1005116 1320958 0
"""


def test_the_lines_of_the_script_give_rate_latency_and_status_mix() -> None:
    result = parse(OUTPUT)
    assert result.requests == 1471
    assert result.rps == pytest.approx(1471 / 1.005116)
    assert (result.p50_ms, result.p99_ms) == (2.017, 12.557)
    assert result.statuses == {200: 1450, 404: 21}
    assert result.share(200) == pytest.approx(1450 / 1471)
    assert result.status_mix() == "200×1450, 404×21"
    assert result.bytes_per_response == 1320958 // 1471


def test_statuses_of_several_threads_add_up() -> None:
    result = parse(OUTPUT + "bench-status 200 50\n")
    assert result.statuses[200] == 1500


def test_output_without_the_scripts_lines_is_an_error_that_shows_it() -> None:
    with pytest.raises(WrkError, match="Requests/sec"):
        parse(OUTPUT.split("bench-")[0])


def test_the_script_reports_what_parse_reads() -> None:
    for line in ("bench-status %d %d", "bench-latency %g %d", "bench-summary %d %d %d %d"):
        assert line in SCRIPT
