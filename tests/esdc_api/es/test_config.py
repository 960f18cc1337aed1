"""Settings from ES_* environment variables, with the original's defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from esdc_api.es.config import Config
from esdc_api.es.errors import BadSetting


def test_defaults_are_the_local_api_with_certificate_checks_off_as_in_the_original() -> None:
    config = Config.from_env({"HOME": "/home/u"})
    assert config.api_url == "http://127.0.0.1:8000/api"
    assert config.api_key is None
    assert config.verify is False
    assert config.timeout is None
    assert config.token_store == Path("/home/u/.local/state/esdc/es-token")


def test_every_setting_comes_from_an_es_variable() -> None:
    config = Config.from_env(
        {
            "ES_API_URL": "https://dc.example.com/api/",
            "ES_API_KEY": "k3y",
            "ES_TOKEN_STORE": "/run/es/token",
            "ES_SSL_VERIFY": "1",
            "ES_TIMEOUT": "2.5",
        }
    )
    assert config == Config(
        api_url="https://dc.example.com/api",
        api_key="k3y",
        token_store=Path("/run/es/token"),
        verify=True,
        timeout=2.5,
    )


def test_the_api_key_stays_out_of_the_repr() -> None:
    assert "k3y" not in repr(Config.from_env({"ES_API_KEY": "k3y"}))


def test_the_token_store_follows_xdg_state_home() -> None:
    config = Config.from_env({"XDG_STATE_HOME": "/state", "HOME": "/home/u"})
    assert config.token_store == Path("/state/esdc/es-token")


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("ES_API_URL", "127.0.0.1:8000/api", "ES_API_URL='127.0.0.1:8000/api' cannot be used"),
        ("ES_SSL_VERIFY", "maybe", "ES_SSL_VERIFY='maybe' cannot be used: use 1 or 0"),
        ("ES_TIMEOUT", "soon", "ES_TIMEOUT='soon' cannot be used: give a number of seconds"),
        ("ES_TIMEOUT", "-3", "ES_TIMEOUT='-3' cannot be used"),
    ],
)
def test_a_bad_setting_is_named_with_its_value(variable: str, value: str, message: str) -> None:
    with pytest.raises(BadSetting) as caught:
        Config.from_env({variable: value})
    assert str(caught.value).startswith(message)
    assert caught.value.exit_code == 11
