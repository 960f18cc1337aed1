"""The replay against a fake server that answers as recorded: what it sends, when, and how
it judges what comes back."""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import timedelta
from typing import Any

import pytest

from esdc_api.replay import Exchange, Report, Target, TargetError, World, replay
from esdc_api.replay.answer import Answer
from esdc_api.spec import Spec
from tests.esdc_api.replay.conftest import Replayer, by_n
from tests.esdc_api.replay.fake import FakeServer


@pytest.fixture(scope="module")
def plain(exchanges: list[Exchange], world: World, spec: Spec) -> tuple[Report, FakeServer]:
    """The whole recording replayed once against a fake that answers as recorded."""
    fake = FakeServer(exchanges, world)
    return replay(exchanges, world, Target.asgi(fake), spec), fake


def test_a_server_that_answers_as_recorded_is_identical_on_every_exchange(
    plain: tuple[Report, FakeServer],
) -> None:
    report, fake = plain
    assert fake.position == 593  # each request was the recorded one, credentials filled in
    assert report.tally.identical == 593
    assert not report.failed
    assert fake.tokens  # the fake's own tokens went out again where the transcript names them


def test_the_world_is_loaded_at_the_seed_and_the_clock_frozen_first(
    plain: tuple[Report, FakeServer], world: World
) -> None:
    _, fake = plain
    assert world.at is not None
    at = world.at.isoformat().replace(":", "%3A").replace("+", "%2B")
    assert [c[:2] for c in fake.calls[:4]] == [
        ("GET", "/control/clock/"),
        ("POST", "/control/clock/freeze/"),
        ("PUT", f"/control/world/?at={at}"),
        ("POST", "/control/clock/set/"),
    ]
    assert json.loads(world.as_json()) == fake.calls[2][2]
    assert ("PUT", "/control/throttle/", {"enabled": True, "clock": "server"}) in fake.calls
    assert ("PUT", "/control/workers/", {"mgmt": {"running": False}}) in fake.calls[:7]


def test_each_exchange_goes_out_at_its_recorded_moment_after_its_throttle_reset(
    plain: tuple[Report, FakeServer], exchanges: list[Exchange], world: World
) -> None:
    _, fake = plain
    assert world.at is not None
    moments = [c[2]["at"] for c in fake.calls if c[1] == "/control/clock/set/"]
    expected = [
        (world.at + timedelta(seconds=t)).isoformat()
        for e in exchanges
        for t in [*(s.t for s in e.setup_before), e.t]
    ]
    assert moments == [world.at.isoformat(), *expected]
    resets = [c for c in fake.calls if c[1] == "/control/throttle/reset/"]
    # Where the recording cleared the throttle, and once at the start of a group that kept its
    # history (A14: the recording's README says to replay it with an empty one).
    kept_starts = sum(
        not e.throttle_reset
        and (i == 0 or exchanges[i - 1].throttle_reset or exchanges[i - 1].group != e.group)
        for i, e in enumerate(exchanges)
    )
    assert len(resets) == sum(e.throttle_reset for e in exchanges) + kept_starts


def test_the_worker_starts_and_the_message_goes_out_when_the_recording_did(
    plain: tuple[Report, FakeServer], exchanges: list[Exchange], world: World
) -> None:
    _, fake = plain
    assert world.at is not None
    start, publish = by_n(exchanges, 537).setup_before[0], by_n(exchanges, 552).setup_before[0]
    index = fake.calls.index(("PUT", "/control/workers/", {"mgmt": {"running": True}}))
    assert fake.calls[index - 1][2]["at"] == (world.at + timedelta(seconds=start.t)).isoformat()
    assert publish.message is not None
    message = next(c for c in fake.calls if c[1].endswith("/message/"))
    assert message == (
        "POST",
        f"/control/tasks/{publish.message['task_id']}/message/",
        {"eta": publish.message["eta"]},
    )


def test_a_changed_answer_is_differing_and_named_with_its_note_and_first_difference(
    replay_fake: Replayer, exchanges: list[Exchange]
) -> None:
    def add_es_dc(answer: Answer) -> Answer:
        return dataclasses.replace(answer, headers=[*answer.headers, ("es_dc", "main")])

    report, _ = replay_fake(answers={1: add_es_dc}, only=exchanges[:20])
    (result,) = report.differing()
    assert result.exchange.n == 1
    assert result.first_difference() == 'header:es_dc: real (absent), ours "main"'
    assert report.failed
    table = report.table()
    assert re.search(r"\n  differing +1\n", table)
    assert f"  n=1 {by_n(exchanges, 1).note}\n      header:es_dc: real (absent)" in table


def test_an_options_description_of_ours_is_declared_by_its_deviation(
    replay_fake: Replayer, exchanges: list[Exchange]
) -> None:
    options = next(e for e in exchanges if e.request.method == "OPTIONS" and e.n > 100)

    def ours(answer: Answer) -> Answer:
        body = json.loads(answer.body)
        return dataclasses.replace(
            answer, body=json.dumps({**body, "description": "ours"}).encode()
        )

    report, _ = replay_fake(answers={options.n: ours}, only=[options])
    assert report.tally.declared_by == {"options-description": 1}
    assert not report.failed


def test_a_login_that_gives_no_token_is_named_where_its_token_was_needed(
    replay_fake: Replayer, exchanges: list[Exchange]
) -> None:
    def refuse(answer: Answer) -> Answer:
        return Answer(400, answer.headers, b'{"detail": "no"}')

    report, _ = replay_fake(answers={376: refuse}, only=exchanges[370:385])
    after = next(r for r in report.results if r.exchange.n == 380)
    assert after.problems == ["the token of user1 from n=376 is unknown: that login gave none here"]
    assert after.first_difference().startswith("the token of user1 from n=376 is unknown")


def test_a_control_api_that_refuses_a_step_stops_the_replay_naming_it(
    exchanges: list[Exchange], world: World, spec: Spec
) -> None:
    fake = FakeServer(exchanges, world)
    answer = fake.control_call

    def no_workers(scope: dict[str, Any], body: bytes) -> tuple[int, bytes]:
        if scope["path"] == "/control/workers/":
            return 501, b'{"detail": "Not implemented yet"}'
        return answer(scope, body)

    fake.control_call = no_workers  # type: ignore[method-assign]
    refused = (
        r"PUT .*/control/workers/ with 501 \(Not implemented yet\); the replay needs it to stop"
    )
    with pytest.raises(TargetError, match=refused):
        replay(exchanges, world, Target.asgi(fake), spec)


def test_without_a_control_api_requests_keep_their_pace_and_dependent_ones_are_named(
    replay_fake: Replayer, exchanges: list[Exchange]
) -> None:
    waits: list[float] = []

    async def pace(offset: float) -> None:
        waits.append(offset)

    chosen = [e for e in exchanges if 399 <= e.n <= 450 or e.n in (294, 537, 540)]
    report, fake = replay_fake(only=chosen, control=False, pace=pace)
    assert fake.calls == []
    assert waits == [e.t - chosen[0].t for e in chosen]
    assert not report.controlled
    depends = {r.exchange.n: r.depends_on for r in report.results}
    assert depends[294] == ("clock",)  # task log stats
    assert "throttle" in depends[444]  # user2's 46th request in a minute, its 429
    assert depends[537] == ("workers",) and depends[540] == ("workers",)
    table = report.table()
    assert "has no control API" in table and "not done before n=537" in table
    assert "the clock, the throttle or the workers" in table
