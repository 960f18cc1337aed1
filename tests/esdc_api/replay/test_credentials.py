"""Filling in the transcript's credential placeholders, and telling what kind a request sent."""

from __future__ import annotations

import dataclasses

import pytest

from esdc_api.replay import Exchange, World, WorldError
from esdc_api.replay.answer import Answer
from esdc_api.replay.credentials import Credentials, kind_of
from tests.esdc_api.replay.conftest import by_n


def sent(exchange: Exchange, name: str, headers: list[tuple[str, str]]) -> str:
    return next(v for k, v in headers if k.lower() == name.lower())


def test_an_api_key_placeholder_becomes_the_users_key(
    exchanges: list[Exchange], world: World
) -> None:
    headers, problems = Credentials(world).fill(by_n(exchanges, 3))
    assert sent(by_n(exchanges, 3), "ES-API-KEY", headers) == world.api_keys["noapi"]
    assert problems == []


def test_a_seeded_token_placeholder_becomes_the_stored_token(
    exchanges: list[Exchange], world: World
) -> None:
    headers, _ = Credentials(world).fill(by_n(exchanges, 11))
    assert (
        sent(by_n(exchanges, 11), "Authorization", headers) == f"Token {world.tokens['inactive']}"
    )


def test_a_login_token_placeholder_becomes_the_token_our_server_gave_there(
    exchanges: list[Exchange], world: World
) -> None:
    credentials = Credentials(world)
    login = by_n(exchanges, 376)
    credentials.remember(login, Answer(200, [], b'{"token": "ours-376", "expires": "x"}'))
    headers, problems = credentials.fill(by_n(exchanges, 380))
    assert sent(by_n(exchanges, 380), "Authorization", headers) == "Token ours-376"
    assert problems == []


def test_a_token_no_login_gave_is_sent_as_the_placeholder_and_reported(
    exchanges: list[Exchange], world: World
) -> None:
    credentials = Credentials(world)
    credentials.remember(by_n(exchanges, 376), Answer(400, [], b'{"detail": "no"}'))
    headers, problems = credentials.fill(by_n(exchanges, 380))
    assert sent(by_n(exchanges, 380), "Authorization", headers) == "Token <token:user1@n376>"
    assert problems == ["the token of user1 from n=376 is unknown: that login gave none here"]


def test_invalid_credentials_are_sent_as_written(exchanges: list[Exchange], world: World) -> None:
    literal = next(e for e in exchanges if e.credentials and "value" in e.credentials[0])
    headers, _ = Credentials(world).fill(literal)
    assert headers == list(literal.request.headers)


def test_a_world_lacking_a_named_users_key_is_refused_naming_the_exchange(
    exchanges: list[Exchange], world: World
) -> None:
    keys = {k: v for k, v in world.api_keys.items() if k != "user2"}
    poorer = dataclasses.replace(world, api_keys=keys)
    with pytest.raises(WorldError, match=r"n=\d+ sends the API key of 'user2'"):
        Credentials(poorer).check(exchanges)


@pytest.mark.parametrize(
    ("headers", "kind"),
    [
        ([("Accept", "*/*")], "none"),
        ([("ES-API-KEY", "<api-key:user1>")], "valid"),
        ([("Authorization", "Token <token:user1@n376>")], "valid"),
        ([("ES-API-KEY", "doesnotexist0000")], "invalid"),
        ([("Authorization", "Basic Zm9vOmJhcg==")], "invalid"),
        ([("ES-API-KEY", "")], "none"),
        ([("ES-API-KEY", ""), ("Authorization", "Token <token:user1@n376>")], "valid"),
    ],
)
def test_the_kind_of_credentials_a_request_sent(
    exchanges: list[Exchange], headers: list[tuple[str, str]], kind: str
) -> None:
    request = dataclasses.replace(exchanges[0].request, headers=headers)
    assert kind_of(dataclasses.replace(exchanges[0], request=request)) == kind
