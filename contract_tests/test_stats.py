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
#: Pages of the log the last hour is compared with, at most.
PAGES = 5
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


def _newest(admin: Client, count: int) -> list[dict[str, Any]] | None:
    """The ``count`` + 1 newest entries of the log, or ``None`` if that takes more than
    :data:`PAGES` pages."""
    found: list[dict[str, Any]] = []
    for number in range(1, PAGES + 1):
        body = admin.get("/task/log/", page=number, order_by="-time").json()
        found += body["results"]
        if len(found) > count or body["next"] is None:
            return found[: count + 1]
    return None


def _when(entry: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(str(entry["time"]).replace("Z", "+00:00"))


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

    # The last hour, entry by entry. Which entries the statistics counted is told by their
    # total: the newest that many of the log, which must hold the same statuses; where the
    # hour began is then checked against the deployment's clock when the suite knows it.
    for _attempt in range(ATTEMPTS):
        exchange, hour = _stats(admin, HOUR)
        total = sum(hour[key] for key in KEYS.values())
        newest = _newest(admin, total)
        if newest is None:
            return  # too many entries in the hour to read them all; the whole log agreed
        if _stats(admin, HOUR)[1] == hour:
            break
    else:
        return  # too busy to compare the hour; the whole log agreed above
    counted = dict.fromkeys(KEYS, 0)
    for entry in newest[:total]:
        counted[entry["status"]] += 1
    # entries written in the same instant as the window's edge may fall either way
    edge = [e for e in newest if total and _when(e) == _when(newest[min(total, len(newest)) - 1])]
    tolerance = (
        len(edge) if len(newest) > total and edge and _when(newest[total]) == _when(edge[0]) else 0
    )
    differ = {
        KEYS[status]: (hour[KEYS[status]], n)
        for status, n in counted.items()
        if abs(hour[KEYS[status]] - n) > tolerance
    }
    if differ:
        raise ContractViolation(
            f"the statistics of the last hour count {total} entries, but the {total} newest "
            "entries of the log are not those: "
            + ", ".join(
                f"{key} is {s} in the stats but {n} in the log" for key, (s, n) in differ.items()
            ),
            exchange,
        )
    now = esdc_run.control.now() if esdc_run.control is not None else exchange.date
    if now is None:
        return
    start = now - timedelta(seconds=HOUR)
    slack = timedelta(seconds=0 if esdc_run.control is not None else 2)
    inside = [_when(e) for e in newest[:total]]
    outside = [_when(e) for e in newest[total:]]
    if (inside and min(inside) < start - slack) or (outside and outside[0] >= start + slack):
        what = (
            f"the statistics of the last hour count the {total} newest entries, from "
            f"{min(inside).isoformat() if inside else 'none'}, but the hour began at "
            f"{start.isoformat()} by the deployment's clock"
        )
        if esdc_run.control is None:
            # the Date header may come from another clock than the log's (a proxy)
            esdc_run.ledger.note(f"{what} (its Date header): not judged")
            return
        raise ContractViolation(what, exchange)
