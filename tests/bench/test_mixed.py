"""The workload that writes: its percentiles and its verdict."""

from __future__ import annotations

from bench.mixed import Kind, MixedResult


def test_percentiles_are_read_from_every_latency() -> None:
    kind = Kind()
    for us in range(1, 101):
        kind.add(200, us * 1000, None)
    assert kind.percentile(50) == 51.0 and kind.percentile(99) == 100.0
    assert kind.statuses == {200: 100}


def test_the_verdict_names_wrong_answers_and_stats_that_differ_from_the_log() -> None:
    good = MixedResult(2.0, {"status": Kind()})
    good.kinds["status"].add(201, 900, None)
    assert good.rps == 0.5 and good.verdict().startswith("every answer as expected")
    bad = MixedResult(1.0, {"cancel": Kind()}, stats_problem="stats differ")
    bad.kinds["cancel"].add(500, 900, "cancel x: 500")
    assert bad.wrong == 1
    assert bad.verdict() == "cancel: 1 wrong (cancel x: 500); stats differ"
