"""The credentials a transcript's placeholders stand for, and what kind each request sent.

Request headers of a transcript name credentials instead of holding them:

- ``<api-key:USER>`` is that user's API key in the world;
- ``Token <token:USER@nN>`` is the token that the answer to exchange N gave: during a replay,
  the token *the replayed server* gave at that login;
- ``Token <token:USER@seed>`` is the token the world stores for the user.

Invalid credentials (``Token bogus``, an unknown key, an empty ``ES-API-KEY``) are written as
sent and are sent as written.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from esdc_api.replay.answer import Answer
from esdc_api.replay.errors import WorldError
from esdc_api.replay.transcript import Exchange
from esdc_api.replay.world import World

API_KEY = re.compile(r"<api-key:([^>]+)>")
TOKEN = re.compile(r"<token:([^@>]+)@(?:n(\d+)|seed)>")
CREDENTIAL_HEADERS = ("es-api-key", "authorization")


class Credentials:
    """Fills in the placeholders of the requests, learning tokens from the server's logins."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.issued: dict[int, str] = {}  # exchange n → the token our server gave there

    def check(self, exchanges: Iterable[Exchange]) -> None:
        """Make sure the world holds every key and stored token the transcript names.

        :raises WorldError: naming the first exchange whose placeholder the world cannot fill.
        """
        for exchange in exchanges:
            for _name, value in exchange.request.headers:
                for user in API_KEY.findall(value):
                    if user not in self.world.api_keys:
                        raise WorldError(
                            self.world.path,
                            f"n={exchange.n} sends the API key of {user!r}, and the world "
                            "gives that user none; is it the world the transcript was recorded in?",
                        )
                for found in TOKEN.finditer(value):
                    if found.group(2) is None and found.group(1) not in self.world.tokens:
                        raise WorldError(
                            self.world.path,
                            f"n={exchange.n} sends the stored token of {found.group(1)!r}, and "
                            "the world's tokens have none for that user",
                        )

    def remember(self, exchange: Exchange, answer: Answer) -> None:
        """Keep the token of a successful login, for the exchanges that name it later."""
        if "/accounts/login/" not in exchange.request.target:
            return
        body = answer.json()
        if isinstance(body, dict) and isinstance(body.get("token"), str):
            self.issued[exchange.n] = body["token"]

    def fill(self, exchange: Exchange) -> tuple[list[tuple[str, str]], list[str]]:
        """The request headers with every placeholder filled, and what could not be filled.

        A token of an earlier login that gave none stays as the placeholder, an invalid
        token; the second list says so, for the report.
        """
        problems: list[str] = []

        def token(found: re.Match[str]) -> str:
            user, issued_in = found.group(1), found.group(2)
            if issued_in is None:
                return self.world.tokens[user]
            if int(issued_in) in self.issued:
                return self.issued[int(issued_in)]
            problems.append(
                f"the token of {user} from n={issued_in} is unknown: that login gave none here"
            )
            return found.group(0)

        headers = []
        for name, value in exchange.request.headers:
            value = API_KEY.sub(lambda found: self.world.api_keys[found.group(1)], value)
            headers.append((name, TOKEN.sub(token, value)))
        return headers, problems


def kind_of(exchange: Exchange) -> str:
    """``"valid"``, ``"invalid"`` or ``"none"``: what credentials the request sent.

    A placeholder is a real user's credential; any other non-empty ``ES-API-KEY`` or
    ``Authorization`` is invalid; an empty ``ES-API-KEY`` is ignored by Danube Cloud, so by
    itself it counts as none.
    """
    sent: Sequence[tuple[str, str]] = exchange.request.headers
    values = [value for name, value in sent if name.lower() in CREDENTIAL_HEADERS]
    if any(API_KEY.search(v) or TOKEN.search(v) for v in values):
        return "valid"
    if any(v.strip() for v in values):
        return "invalid"
    return "none"
