"""Only the values the recording calls volatile are normalized."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from esdc_api.replay.normalize import Normalizer, Volatile

SEED = datetime(2026, 12, 1, 10, 14, 26, 41843, tzinfo=UTC)


@pytest.fixture
def normalizer() -> Normalizer:
    return Normalizer(SEED)


@pytest.mark.parametrize(
    "text", ["2026-12-01T11:14:30.123+00:00", "2026-12-01T10:14:27Z", "2026-12-01T10:14:27"]
)
def test_a_time_after_the_seed_matches_any_other(normalizer: Normalizer, text: str) -> None:
    value = normalizer.text(text)
    assert isinstance(value, Volatile)
    assert value.matches(normalizer.text("2026-12-01T12:00:00Z"))


@pytest.mark.parametrize(
    "text", ["2026-12-01T10:14:26.041843+00:00", "2026-12-01T10:11:26.041843Z", "2026-12-01"]
)
def test_a_time_up_to_the_seed_compares_as_it_is(normalizer: Normalizer, text: str) -> None:
    assert normalizer.text(text) == text


def test_a_login_token_is_volatile_only_as_a_token_field(normalizer: Normalizer) -> None:
    token = "a" * 40
    body = normalizer.body({"token": token, "detail": token, "other": {"token": "short"}})
    assert isinstance(body["token"], Volatile)
    assert body["detail"] == token
    assert body["other"] == {"token": "short"}


def test_throttle_waits_match_within_a_second_and_keep_their_words(
    normalizer: Normalizer,
) -> None:
    def wait(seconds: str) -> Volatile:
        value = normalizer.text(f"Request was throttled. Expected available in {seconds}.")
        assert isinstance(value, Volatile)
        return value

    assert wait("60.0 seconds").matches(wait("59.0 seconds"))
    assert not wait("60.0 seconds").matches(wait("58.0 seconds"))
    assert not wait("1.0 second").matches(wait("1.0 seconds"))
    assert not wait("60.0 seconds").matches(wait("60 seconds"))


def test_retry_after_is_a_wait_and_other_headers_are_not(normalizer: Normalizer) -> None:
    assert normalizer.header("Retry-After", "60").matches(  # type: ignore[union-attr]
        normalizer.header("retry-after", "59")
    )
    assert normalizer.header("Allow", "GET, OPTIONS") == "GET, OPTIONS"


def test_nothing_else_is_touched(normalizer: Normalizer) -> None:
    body = {"status": "SUCCESS", "n": [1, True, None], "task_id": "9e9d1-c0ffee03-1234-4abc-8def"}
    assert normalizer.body(body) == body
