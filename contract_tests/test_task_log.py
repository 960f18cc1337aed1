"""The paged task log: 100 entries a page linked by next and previous (previous is null on page
2 too, as on real deployments), every filter and order_by really applied, and without page
the last entries with every filter ignored."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from contract_tests.client import Client, Exchange
from contract_tests.deviations import LENIENT_BOOLEANS
from contract_tests.errors import ContractViolation
from contract_tests.run import Run

Entry = dict[str, Any]


@pytest.fixture(scope="module")
def reader(esdc_run: Run) -> Client:
    """Who reads the log: the admin, who sees the most entries, else the user."""
    return esdc_run.client("admin" if esdc_run.keys.get("admin") else "user")


def page(client: Client, number: int | str, **filters: Any) -> tuple[Exchange, dict[str, Any]]:
    exchange = client.get("/task/log/", page=number, **filters)
    body = exchange.json()
    if (
        exchange.status != 200
        or not isinstance(body, dict)
        or not isinstance(body.get("results"), list)
    ):
        raise ContractViolation(f"page {number} of the task log could not be read", exchange)
    return exchange, body


def when(entry: Entry) -> datetime:
    return datetime.fromisoformat(str(entry["time"]).replace("Z", "+00:00"))


def _link_page(link: str | None) -> int | None:
    if link is None:
        return None
    values = parse_qs(urlsplit(link).query).get("page")
    return int(values[0]) if values else -1


def test_log_pages_hold_100_entries_and_link_to_each_other(esdc_run: Run, reader: Client) -> None:
    size = esdc_run.facts.page_size
    first_x, first = page(reader, 1)
    count = int(first["count"])
    pages = max(1, -(-count // size))
    seen: dict[int, tuple[Exchange, dict[str, Any]]] = {1: (first_x, first)}
    for number in range(2, min(pages, 3) + 1):
        seen[number] = page(reader, number)
    if page(reader, 1)[1]["count"] != count:
        pytest.skip("the log grew while it was read; try again when the deployment is quieter")
    for number, (exchange, body) in seen.items():
        expected = min(size, count - (number - 1) * size)
        if len(body["results"]) != expected:
            raise ContractViolation(
                f"page {number} of a log of {count} entries holds {len(body['results'])} entries; "
                f"pages hold {size} (TaskLogPage), so it should hold {expected}",
                exchange,
            )
        want_next = number + 1 if number < pages else None
        if _link_page(body["next"]) != want_next:
            raise ContractViolation(
                f"page {number} of {pages} links next to {body['next']!r}; it should link to "
                + (f"page {want_next}" if want_next else "nothing (null)"),
                exchange,
            )
        # Real deployments leave previous out on page 2 as well as on page 1 (TaskLogPage).
        want_previous = number - 1 if number > 2 else None
        if _link_page(body["previous"]) != want_previous:
            raise ContractViolation(
                f"page {number} links previous to {body['previous']!r}; it should link to "
                + (
                    f"page {want_previous}"
                    if want_previous
                    else "nothing (null), as real deployments do on pages 1 and 2"
                ),
                exchange,
            )
        for link in (body["next"], body["previous"]):
            if link is not None and urlsplit(link).path != urlsplit(exchange.url).path:
                raise ContractViolation(f"the link {link!r} leads away from the task log", exchange)
    tasks_seen = [
        (e["task"], e["status"], e["time"]) for _, b in seen.values() for e in b["results"]
    ]
    if len(set(tasks_seen)) != len(tasks_seen):
        raise ContractViolation("the same entry shows on two pages", *[x for x, _ in seen.values()])
    beyond = reader.get("/task/log/", page=pages + 1)
    if beyond.status != 404 or beyond.json() != {"detail": "Invalid page."}:
        raise ContractViolation(f"page {pages + 1} of {pages} must be 404 Invalid page.", beyond)
    if pages < 2:
        pytest.skip(
            f"the log has {count} entries, one page: next and previous were checked on it only"
        )


def _flt(entries: list[Entry], keep: Callable[[Entry], bool]) -> list[Entry]:
    return [e for e in entries if keep(e)]


def _auto(entry: Entry) -> bool:
    return re.match(r"^\d+a\d+", str(entry["task"])) is not None


def _day(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def _equals(field: str, value: str) -> Callable[[Entry], bool]:
    return lambda entry: bool(entry[field] == value)


FILTERS = (
    "status",
    "object_type",
    "object_name",
    "hide_auto",
    "show_running",
    "date_from",
    "date_to",
)


@pytest.fixture(scope="module")
def newest(reader: Client) -> tuple[int, list[Entry]]:
    _, body = page(reader, 1)
    if not body["results"]:
        pytest.skip("the log is empty: no filter can be told apart from none")
    return int(body["count"]), list(body["results"])


@pytest.mark.parametrize("name", FILTERS)
def test_log_filter_is_applied(
    esdc_run: Run, reader: Client, newest: tuple[int, list[Entry]], name: str
) -> None:
    total, entries = newest
    choices: list[tuple[dict[str, Any], Callable[[Entry], bool], str]] = []
    if name == "status":
        for status in esdc_run.facts.enum("status"):
            choices.append(({"status": status}, _equals("status", status), f"status {status}"))
    elif name == "object_type":
        for kind in sorted({e["object_type"] for e in entries}):
            choices.append(
                (
                    {"object_type": kind},
                    _equals("object_type", kind),
                    f"object type {kind}",
                )
            )
    elif name == "object_name":
        sample = entries[0]
        needle = sample["object_name"][1:6].swapcase() or sample["object_name"]
        choices.append(
            (
                {"object_type": sample["object_type"], "object_name": needle},
                lambda e: (
                    e["object_type"] == sample["object_type"]
                    and needle.lower() in e["object_name"].lower()
                ),
                f"{sample['object_type']} names containing {needle!r} (any case)",
            )
        )
    elif name == "hide_auto":
        choices.append(({"hide_auto": "true"}, lambda e: not _auto(e), "no automatic tasks"))
    elif name == "show_running":
        # tasks may start or end meanwhile on a live deployment: the list before and after
        running = set(reader.get("/task/").json() or [])
        page(reader, 1, show_running="true")
        running |= set(reader.get("/task/").json() or [])
        choices.append(
            (
                {"show_running": "true"},
                lambda e: e["task"] in running,
                "tasks the caller lists as running",
            )
        )
    else:
        day = when(entries[len(entries) // 2]).date()
        if name == "date_from":
            choices.append(
                (
                    {"date_from": day.isoformat()},
                    lambda e: when(e) >= _day(day),
                    f"written on or after {day}",
                )
            )
        else:
            choices.append(
                (
                    {"date_to": day.isoformat()},
                    lambda e: when(e) <= _day(day),
                    f"written before {day}",
                )
            )
    counts = []
    for filters, keep, meaning in choices:
        exchange, body = page(reader, 1, **filters)
        wrong = [e for e in body["results"] if not keep(e)]
        if wrong:
            raise ContractViolation(
                f"the task log filtered by {filters} should hold only entries of {meaning}, but "
                f"{len(wrong)} of {len(body['results'])} are not (e.g. {wrong[0]}); the filter is "
                "not applied",
                exchange,
            )
        if int(body["count"]) > total:
            raise ContractViolation(
                f"filtering by {filters} found more entries than no filter", exchange
            )
        others = [e for e in entries if not keep(e)]
        if others and int(body["count"]) == total:
            raise ContractViolation(
                f"filtering by {filters} still counts all {total} entries, although the "
                "newest page "
                f"alone holds {len(others)} that do not match: the filter is not applied",
                exchange,
            )
        counts.append(int(body["count"]))
    if name == "hide_auto":
        _check_boolean_spellings(esdc_run, reader, counts[0])
    by_status = dict(zip(esdc_run.facts.enum("status"), counts, strict=False))
    if name == "status" and sum(counts) != total:
        raise ContractViolation(
            f"the counts by status ({by_status}) "
            f"do not add up to the {total} entries of the unfiltered log",
            reader.get("/task/log/", page=1),
        )


def _check_boolean_spellings(esdc_run: Run, reader: Client, hidden: int) -> None:
    """True, 1 and t read as true; yes is a 400 by the schema, or true on real deployments
    (a known deviation the spec documents)."""
    for spelling in ("True", "1", "t"):
        exchange, body = page(reader, 1, hide_auto=spelling)
        if int(body["count"]) != hidden:
            raise ContractViolation(
                f"hide_auto={spelling} must read as true, like hide_auto=true", exchange
            )
    yes = reader.get("/task/log/", page=1, hide_auto="yes")
    body = yes.json()
    if yes.status == 400 and isinstance(body, dict) and "hide_auto" in body:
        return
    if yes.status == 200 and isinstance(body, dict) and int(body.get("count", -1)) == hidden:
        esdc_run.ledger.excuse(LENIENT_BOOLEANS, yes.summary(150))
        return
    raise ContractViolation("hide_auto=yes must be a 400, or read as true", yes)


@pytest.mark.parametrize("order", ["time", "-time", "+time"])
def test_log_order_by_is_applied(
    reader: Client, newest: tuple[int, list[Entry]], order: str
) -> None:
    total, _ = newest
    exchange, body = page(reader, 1, order_by=order)
    times = [when(e) for e in body["results"]]
    # time is oldest first; -time, and on real deployments +time too, newest first (OrderBy).
    oldest_first = order == "time"
    if times != sorted(times, reverse=not oldest_first):
        raise ContractViolation(
            f"order_by={order} should list the entries "
            f"{'oldest' if oldest_first else 'newest'} first; they are not",
            exchange,
        )
    if oldest_first and total > len(times) and len(set(times)) > 1:
        _, newest_page = page(reader, 1, order_by="-time")
        if times[0] >= when(newest_page["results"][-1]):
            raise ContractViolation(
                "order_by=time does not start with the oldest entries", exchange
            )


def test_log_without_page_shows_the_last_entries_and_ignores_filters(
    esdc_run: Run, reader: Client
) -> None:
    plain = reader.get("/task/log/")
    body = plain.json()
    if plain.status != 200 or not isinstance(body, dict) or set(body) != {"results"}:
        raise ContractViolation('without page the task log answers {"results": [...]} only', plain)
    size = esdc_run.facts.last_size
    if len(body["results"]) > size:
        raise ContractViolation(f"without page the task log holds at most {size} entries", plain)
    times = [when(e) for e in body["results"]]
    if times != sorted(times, reverse=True):
        raise ContractViolation("without page the task log lists the newest entries first", plain)
    filtered = reader.get(
        "/task/log/", status="FAILURE", order_by="time", hide_auto="true", object_type="dc"
    )
    if filtered.status != 200 or filtered.json() != body:
        if reader.get("/task/log/").json() == body:  # and the log did not move meanwhile
            raise ContractViolation(
                "without page every filter is ignored (the spec's page parameter), but the "
                "filters changed the answer",
                plain,
                filtered,
            )
