"""What ``es`` reads from the environment, as one value object.

The original kept these settings as variables at the top of its script, to be edited by hand.
Here each one is an ``ES_*`` environment variable, read once per run from an injectable mapping
(``os.environ`` by default) so that tests and the docs build can set them without touching the
process environment.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path

from esdc_api.es.errors import BadSetting

DEFAULT_API_URL = "http://127.0.0.1:8000/api"
#: Seconds allowed for opening a connection when ``ES_TIMEOUT`` is not set. Reading is not
#: limited then, because a task stream (``ES-STREAM``) may legitimately last up to an hour.
CONNECT_TIMEOUT = 10.0

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


@dataclasses.dataclass(frozen=True)
class Config:
    """The settings of one run of ``es``.

    :param api_url: the API's base URL, without a trailing slash (``ES_API_URL``).
    :param api_key: sent as the ``ES-API-KEY`` header unless ``-api-key`` is given (``ES_API_KEY``).
    :param token_store: the file that keeps the login token (``ES_TOKEN_STORE``).
    :param verify: check the server's TLS certificate (``ES_SSL_VERIFY``); off by default, as
        the original's ``SSL_VERIFY = False``, because Danube Cloud appliances usually serve a
        self-signed certificate.
    :param timeout: seconds to wait for the server, or ``None`` to wait while it streams
        (``ES_TIMEOUT``).
    """

    api_url: str = DEFAULT_API_URL
    api_key: str | None = dataclasses.field(default=None, repr=False)  # a secret
    token_store: Path = dataclasses.field(default_factory=lambda: default_token_store({}))
    verify: bool = False
    timeout: float | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Config:
        """Read the settings from ``env``; unset or empty variables keep their defaults.

        :raises BadSetting: if a variable has a value es cannot use.
        """
        return cls(
            api_url=_api_url(env.get("ES_API_URL") or DEFAULT_API_URL),
            api_key=env.get("ES_API_KEY") or None,
            token_store=default_token_store(env),
            verify=_flag("ES_SSL_VERIFY", env.get("ES_SSL_VERIFY") or "0"),
            timeout=_seconds("ES_TIMEOUT", env.get("ES_TIMEOUT") or ""),
        )


def default_token_store(env: Mapping[str, str]) -> Path:
    """Where the login token is kept: ``ES_TOKEN_STORE``, else the user's XDG state folder.

    The original used ``<tempdir>/esdc.session``, which every user of the machine shares.
    """
    if env.get("ES_TOKEN_STORE"):
        return Path(env["ES_TOKEN_STORE"]).expanduser()
    if env.get("XDG_STATE_HOME"):
        state = Path(env["XDG_STATE_HOME"])
    else:
        home = Path(env["HOME"]) if env.get("HOME") else Path.home()
        state = home / ".local" / "state"
    return state / "esdc" / "es-token"


def _api_url(value: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise BadSetting("ES_API_URL", value, "give the API's base URL, e.g. https://host/api")
    return value.rstrip("/")


def _flag(variable: str, value: str) -> bool:
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise BadSetting(variable, value, "use 1 or 0")


def _seconds(variable: str, value: str) -> float | None:
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not seconds > 0:
        raise BadSetting(variable, value, "give a number of seconds above 0, e.g. 30")
    return seconds
