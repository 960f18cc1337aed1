"""The paged task log: 100 entries a page linked by next and previous (previous is null on page
2 too, as on real deployments) that keep the request's host and carry its query as real
deployments do; a plain user's pages past the first; every filter applied, keeping exactly
the entries it names; order_by; without page the last entries with every filter ignored; and
entries carrying the UTC time they were written."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, time
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlencode, urlsplit, urlunsplit

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


def carried(url: str, number: int) -> str:
    """The link to page ``number`` of ``url`` as real deployments write it: the URL's scheme,
    host and path, and its query parsed as Django's ``parse_qs`` does (blank values dropped,
    repeated ones kept), the page replaced, sorted by name (``replace_query_param``)."""
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    query["page"] = [str(number)]
    return urlunsplit(
        (parts.scheme, parts.netloc, parts.path, urlencode(sorted(query.items()), doseq=True), "")
    )


def _same_link(link: str, wanted: str) -> bool:
    got, want = urlsplit(link), urlsplit(wanted)
    return (got.scheme, got.netloc, got.path) == (want.scheme, want.netloc, want.path) and (
        parse_qsl(got.query, keep_blank_values=True)
        == parse_qsl(want.query, keep_blank_values=True)
    )


@pytest.mark.esdc_check("log-paging", admin=6)
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
        if int(body["count"]) != count:
            raise ContractViolation(
                f"page {number} counts {body['count']} entries, page 1 {count}: every page "
                "counts the whole log",
                exchange,
            )
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
    tasks_seen = [
        (e["task"], e["status"], e["time"]) for _, b in seen.values() for e in b["results"]
    ]
    if len(set(tasks_seen)) != len(tasks_seen):
        raise ContractViolation("the same entry shows on two pages", *[x for x, _ in seen.values()])
    beyond = reader.get("/task/log/", page=pages + 1)
    wanted = {"detail": esdc_run.facts.detail("taskLog", 404, "invalidPage")}
    if beyond.status != 404 or beyond.json() != wanted:
        raise ContractViolation(
            f"page {pages + 1} of a log of {pages} page(s) must be 404 {wanted}, not "
            f"{beyond.status}",
            beyond,
        )
    if pages < 2:
        pytest.skip(
            f"the log has {count} entries, one page: next and previous were checked on it only"
        )


@pytest.mark.esdc_check("log-links", admin=2)
def test_log_links_keep_the_host_and_carry_the_query(esdc_run: Run, reader: Client) -> None:
    """next and previous are the request's URL with the page replaced, as real deployments
    write it: blank parameters dropped, repeated ones kept, the query sorted by name."""
    query = [("order_by", "-time"), ("page", "1"), ("hide_auto", ""), ("order_by", "-time")]
    first = reader.request("GET", "/task/log/", params=query)
    body = first.json()
    if first.status != 200 or not isinstance(body, dict) or "count" not in body:
        raise ContractViolation("page 1 of the task log could not be read", first)
    if body["next"] is None:
        pytest.skip(f"the log has {body['count']} entries, one page: no links to check")
    links = [(first, "next", body["next"], carried(first.url, 2))]
    if int(body["count"]) > 2 * esdc_run.facts.page_size:
        third = reader.request("GET", "/task/log/", params=[*query[:1], ("page", "3"), *query[2:]])
        link = (third.json() or {}).get("previous") if third.status == 200 else None
        links.append((third, "previous", link, carried(third.url, 2)))
    for exchange, name, link, wanted in links:
        if link is None or not _same_link(link, wanted):
            raise ContractViolation(
                f"{exchange.path}?{exchange.query} links {name} to {link!r}; real deployments "
                f"link to {wanted}: the request's scheme and host, blank parameters dropped, "
                "repeated ones kept, sorted by name",
                exchange,
            )


@pytest.mark.esdc_check("plain-user-log-pages", user=2, peer=1)
def test_a_plain_users_log_pages_past_the_first(esdc_run: Run, user: Client, peer: Client) -> None:
    """As a plain user: page 2 holds the next 100 of the entries the user may see (or is 404
    Invalid page. when page 1 held them all), none of them another plain user's own."""
    size = esdc_run.facts.page_size
    first_x, first = page(user, 1)
    count = int(first["count"])
    second = user.get("/task/log/", page=2)
    if count <= size:
        wanted = {"detail": esdc_run.facts.detail("taskLog", 404, "invalidPage")}
        if second.status != 404 or second.json() != wanted:
            raise ContractViolation(
                f"the user's log holds {count} entries, one page, so page 2 is 404 {wanted}",
                second,
            )
        return
    body = second.json()
    if (
        second.status != 200
        or not isinstance(body, dict)
        or not isinstance(body.get("results"), list)
    ):
        raise ContractViolation(
            f"the user's log holds {count} entries, but its page 2 could not be read", second
        )
    expected = min(size, count - size)
    if len(body["results"]) != expected or int(body["count"]) != count:
        raise ContractViolation(
            f"page 2 of the user's log of {count} entries holds {len(body['results'])} entries "
            f"and counts {body['count']}; it holds {expected} and counts {count}",
            first_x,
            second,
        )
    peer_name = peer.get("/task/").header("es_username")
    user_name = first_x.header("es_username")
    foreign = [
        e
        for e in body["results"]
        if peer_name and peer_name != user_name and e.get("username") == peer_name
    ]
    if foreign:
        raise ContractViolation(
            f"page 2 of the user's log shows {len(foreign)} entries written by another plain "
            f"user ({peer_name}), e.g. {foreign[0]}; a plain user sees only entries about "
            "objects they own",
            second,
        )


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


def _key(entry: Entry) -> tuple[Any, ...]:
    return (entry.get("task"), entry.get("status"), entry.get("time"))


def _shifted(wrong: list[Entry], boundary: datetime) -> str:
    """Evidence that entries break a date filter only because their times are shifted."""
    hours = {round(abs((when(e) - boundary).total_seconds()) / 3600, 1) for e in wrong}
    if max(hours) <= 14:
        return (
            f"; every one of them lies within {max(hours):g} h of {boundary:%Y-%m-%d} 00:00 UTC, "
            "so the filter is applied but the entries' times look shifted (a time zone other "
            "than UTC? the log-times rule)"
        )
    return "; the filter is not applied"


@pytest.mark.esdc_check("log-filters", admin=4)
@pytest.mark.parametrize("name", FILTERS)
def test_log_filter_is_applied(
    esdc_run: Run, reader: Client, newest: tuple[int, list[Entry]], name: str
) -> None:
    """Precision, every filter: the filtered page holds only entries the filter names. Recall,
    where the suite can tell which entries those are: the newest of them, as the unfiltered
    page shows them, open the filtered page. (Not for object_name, which real deployments match
    against the objects' current names, so that entries of deleted objects never match; nor
    show_running, whose running tasks change as it is read.)"""
    total, entries = newest
    size = esdc_run.facts.page_size
    choices: list[tuple[dict[str, Any], Callable[[Entry], bool], str, datetime | None]] = []
    recall = name not in ("object_name", "show_running")
    if name == "status":
        for status in esdc_run.facts.enum("status"):
            choices.append(
                ({"status": status}, _equals("status", status), f"status {status}", None)
            )
    elif name == "object_type":
        # entries of objects outside the filter's choices ("", imagestore, monitoringserver)
        # can only be listed unfiltered
        offered = set(esdc_run.facts.enum("object_type"))
        for kind in sorted({e["object_type"] for e in entries} & offered):
            choices.append(
                ({"object_type": kind}, _equals("object_type", kind), f"object type {kind}", None)
            )
        if not choices:
            pytest.skip("the newest page holds no entry of an object type the filter offers")
    elif name == "object_name":
        offered = set(esdc_run.facts.enum("object_type"))
        sample = next(
            (e for e in entries if e["object_type"] in offered and e["object_name"]), None
        )
        if sample is None:
            pytest.skip("the newest page holds no named object of a type the filter offers")
        needle = sample["object_name"][1:6].swapcase() or sample["object_name"]
        choices.append(
            (
                {"object_type": sample["object_type"], "object_name": needle},
                lambda e: (
                    e["object_type"] == sample["object_type"]
                    and needle.lower() in e["object_name"].lower()
                ),
                f"{sample['object_type']} names containing {needle!r} (any case)",
                None,
            )
        )
    elif name == "hide_auto":
        choices.append(({"hide_auto": "true"}, lambda e: not _auto(e), "no automatic tasks", None))
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
                None,
            )
        )
    else:
        day = when(entries[len(entries) // 2]).date()
        if name == "date_from":
            choices.append(
                (
                    {"date_from": day.isoformat()},
                    lambda e: when(e) >= _day(day),
                    f"written on or after {day} 00:00 UTC",
                    _day(day),
                )
            )
        else:
            choices.append(
                (
                    {"date_to": day.isoformat()},
                    lambda e: when(e) <= _day(day),
                    f"written before {day} 00:00 UTC",
                    _day(day),
                )
            )
    counts = []
    for filters, keep, meaning, boundary in choices:
        exchange, body = page(reader, 1, **filters)
        count = int(body["count"])
        wrong = [e for e in body["results"] if not keep(e)]
        if wrong:
            shifted = (
                _shifted(wrong, boundary) if boundary is not None else "; the filter is not applied"
            )
            raise ContractViolation(
                f"the task log filtered by {filters} should hold only entries {meaning}, but "
                f"{len(wrong)} of {len(body['results'])} are not (e.g. {wrong[0]}){shifted}",
                exchange,
                rule="log-times" if "shifted" in shifted else "log-filters",
            )
        if count > total:
            raise ContractViolation(
                f"filtering by {filters} counts {count} entries, more than the {total} of the "
                "unfiltered log",
                exchange,
            )
        if len(body["results"]) != min(size, count):
            raise ContractViolation(
                f"the task log filtered by {filters} counts {count} entries but its first page "
                f"holds {len(body['results'])}; a page holds {size} (or all, if fewer)",
                exchange,
                rule="log-filter-recall",
            )
        others = [e for e in entries if not keep(e)]
        if others and count == total:
            raise ContractViolation(
                f"filtering by {filters} still counts all {total} entries, although the newest "
                f"page alone holds {len(others)} that do not match: the filter is not applied",
                exchange,
            )
        matching = [e for e in entries if keep(e)]
        if recall and matching:
            got = {_key(e) for e in body["results"]}
            missing = [e for e in matching if _key(e) not in got]
            # entries written in the same instant as the page's last may fall either way
            edge = when(body["results"][-1]) if body["results"] else None
            missing = [e for e in missing if edge is None or when(e) > edge]
            esdc_run.ledger.count("log-filter-recall")
            if missing or count < len(matching):
                raise ContractViolation(
                    f"the unfiltered log's newest page holds {len(matching)} entries {meaning}, "
                    f"the newest of them all, but filtered by {filters} the log counts {count} "
                    f"and its first page lacks {len(missing)} of them "
                    f"(e.g. {(missing or matching)[0]}): the filter drops entries it names",
                    reader.get("/task/log/", page=1),
                    exchange,
                    rule="log-filter-recall",
                )
        counts.append(count)
    if name == "hide_auto":
        _check_boolean_spellings(esdc_run, reader, counts[0])
    by_status = dict(zip(esdc_run.facts.enum("status"), counts, strict=False))
    if name == "status" and sum(counts) != total:
        raise ContractViolation(
            f"the counts by status ({by_status}) "
            f"do not add up to the {total} entries of the unfiltered log",
            reader.get("/task/log/", page=1),
            rule="log-filter-recall",
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


@pytest.mark.esdc_check("log-order", admin=2)
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


@pytest.mark.esdc_check("log-last", admin=3)
def test_log_without_page_shows_the_last_entries_and_ignores_filters(
    esdc_run: Run, reader: Client
) -> None:
    """The last entries as they were written, newest written first: real deployments keep
    them in a list in write order, which is not always the order of their times."""
    plain = reader.get("/task/log/")
    body = plain.json()
    if plain.status != 200 or not isinstance(body, dict) or set(body) != {"results"}:
        raise ContractViolation('without page the task log answers {"results": [...]} only', plain)
    size = esdc_run.facts.last_size
    if len(body["results"]) > size:
        raise ContractViolation(f"without page the task log holds at most {size} entries", plain)
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


@pytest.mark.esdc_check("log-times", user=2)
def test_log_entries_carry_the_time_they_were_written(
    esdc_run: Run, user: Client, tasks: Any
) -> None:
    """On a reference server a task made now is logged at the server's now; on a deployment
    no entry is newer than its Date header says it is."""
    if esdc_run.control is not None:
        task_id = tasks.make(queued=600, runs=60)
        now = esdc_run.control.now()
        exchange, body = page(user, 1)
        logged = [when(e) for e in body["results"] if e.get("task") == task_id]
        if now is not None and (not logged or abs((logged[-1] - now).total_seconds()) > 1):
            off = (logged[-1] - now).total_seconds() / 3600 if logged else None
            raise ContractViolation(
                f"task {task_id}, made at {now.isoformat()} (the server's clock), is logged at "
                f"{logged[-1].isoformat() if logged else 'no time on the newest page'}"
                + (f", {off:+g} h off: its time is not the UTC time it was written" if off else ""),
                exchange,
            )
        return
    exchange, body = page(user, 1)
    if exchange.date is None or not body["results"]:
        pytest.skip("no Date header or no entries to compare")
    newest = max(when(e) for e in body["results"])
    ahead = (newest - exchange.date).total_seconds()
    if ahead > 120:
        raise ContractViolation(
            f"the newest entry of the user's log is from {newest.isoformat()}, {ahead / 3600:.1f} "
            f"h after the deployment's own clock ({exchange.date.isoformat()}, its Date header): "
            "the entries' times are not UTC",
            exchange,
        )
