"""The task log statistics count the same entries the paged log shows, for the same window."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from contract_tests.client import Client, Exchange
from contract_tests.errors import ContractViolation
from contract_tests.run import Run

#: A window reaching back further than any deployment's log, but not before the year 1.
ALL_TIME = 100 * 365 * 86400
#: The window compared entry by entry.
HOUR = 3600
#: How often the comparison is repeated when the log changed while it was being read.
ATTEMPTS = 3
#: The stats keys of each log status.
KEYS = {"PENDING": "pending", "SUCCESS": "succeeded", "FAILURE": "failed", "REVOKED": "revoked"}


def _stats(admin: Client, last: int) -> tuple[Exchange, dict[str, Any]]:
    exchange = admin.get("/task/log/stats/", last=last)
    body = exchange.json()
    if exchange.status != 200 or not isinstance(body, dict):
        raise ContractViolation("an admin could not read the task log statistics", exchange)
    if body.get("_last") != last:
        raise ContractViolation(
            f"the statistics of last={last} say _last={body.get('_last')!r}", exchange
        )
    return exchange, body


def _log_count(admin: Client, **filters: Any) -> tuple[Exchange, int]:
    exchange = admin.get("/task/log/", page=1, **filters)
    body = exchange.json()
    if exchange.status != 200 or not isinstance(body, dict):
        raise ContractViolation("an admin could not read the task log", exchange)
    return exchange, int(body["count"])


def _entries_since(admin: Client, since: datetime) -> tuple[dict[str, int], datetime | None]:
    """Entries of each status written at or after ``since``, read newest first page by page,
    and the time of the newest entry."""
    counts = dict.fromkeys(KEYS, 0)
    newest = None
    number = 1
    while True:
        exchange = admin.get("/task/log/", page=number, order_by="-time")
        body = exchange.json()
        for entry in body["results"]:
            written = datetime.fromisoformat(entry["time"].replace("Z", "+00:00"))
            newest = newest or written
            if written < since:
                return counts, newest
            counts[entry["status"]] += 1
        if body["next"] is None:
            return counts, newest
        number += 1


@pytest.mark.esdc_check("stats-equal-log", admin=9)
def test_stats_equal_the_counts_of_the_paged_log(esdc_run: Run, admin: Client) -> None:
    for _attempt in range(ATTEMPTS):
        before, stats = _stats(admin, ALL_TIME)
        logged = {status: _log_count(admin, status=status) for status in KEYS}
        after, stats_after = _stats(admin, ALL_TIME)
        if stats_after == stats:
            break
    else:
        raise ContractViolation("the log kept changing while it was counted", before, after)
    differ = {
        key: (stats[key], logged[status][1])
        for status, key in KEYS.items()
        if stats[key] != logged[status][1]
    }
    if differ:
        raise ContractViolation(
            "the statistics disagree with the paged log they count: "
            + ", ".join(
                f"{key} is {s} in the stats but {n} in the log" for key, (s, n) in differ.items()
            ),
            before,
            *(logged[status][0] for status, key in KEYS.items() if key in differ),
        )

    # The last hour, entry by entry: the stats count what the log shows since now - 3600 s.
    for _attempt in range(ATTEMPTS):
        exchange, hour = _stats(admin, HOUR)
        now = esdc_run.control.now() if esdc_run.control is not None else exchange.date
        if now is None:
            return  # the deployment sends no Date header: the window cannot be placed
        counted, newest = _entries_since(admin, now - timedelta(seconds=HOUR))
        if newest is not None and newest > now + timedelta(seconds=5):
            esdc_run.ledger.note(
                "the last hour of the statistics was not compared entry by entry: the log holds "
                f"entries newer ({newest}) than the deployment's Date header ({now})"
            )
            return
        if _stats(admin, HOUR)[1] == hour:
            break
    else:
        return  # too busy to compare the hour; the whole log agreed above
    tolerance = 0 if esdc_run.control is not None else 2  # a Date header is whole seconds
    differ = {
        KEYS[status]: (hour[KEYS[status]], n)
        for status, n in counted.items()
        if abs(hour[KEYS[status]] - n) > tolerance
    }
    if differ:
        raise ContractViolation(
            "the statistics of the last hour disagree with the log entries of that hour: "
            + ", ".join(
                f"{key} is {s} in the stats but {n} in the log" for key, (s, n) in differ.items()
            ),
            exchange,
        )
