"""Options come from the command line, else the environment, else the ini file."""

from __future__ import annotations

from typing import Any

import pytest

from contract_tests.settings import resolve


class FakeConfig:
    """What resolve() reads of a pytest config."""

    def __init__(
        self,
        options: dict[str, Any] | None = None,
        ini: dict[str, Any] | None = None,
        cache: Any = None,
    ) -> None:
        self.options, self.ini, self.cache = options or {}, ini or {}, cache

    def getoption(self, name: str, default: Any = None) -> Any:
        return self.options.get(name, default)

    def getini(self, name: str) -> Any:
        return self.ini.get(name)


class FakeCache(dict[str, Any]):
    def get(self, key: str, default: Any = None) -> Any:
        return super().get(key, default)


def settings(config: FakeConfig, **environ: str) -> Any:
    return resolve(config, environ)  # type: ignore[arg-type]


def test_the_command_line_wins_over_the_environment_and_the_ini_file() -> None:
    config = FakeConfig({"esdc_base_url": "https://cli/api"}, {"esdc_base_url": "https://ini/api"})
    assert settings(config, ESDC_BASE_URL="https://env/api").base_url == "https://cli/api"


def test_the_environment_wins_over_the_ini_file() -> None:
    config = FakeConfig(ini={"esdc_base_url": "https://ini/api", "esdc_budget": "30"})
    resolved = settings(config, ESDC_BASE_URL="https://env/api/")
    assert (resolved.base_url, resolved.budget) == ("https://env/api", 30.0)


def test_keys_come_from_the_environment_and_never_show_in_the_repr() -> None:
    resolved = settings(
        FakeConfig(), ESDC_API_KEY="k1", ESDC_PEER_API_KEY="k2", ESDC_ADMIN_API_KEY="k3"
    )
    assert (resolved.api_key, resolved.peer_api_key, resolved.admin_api_key) == ("k1", "k2", "k3")
    assert "k1" not in repr(resolved) and "k3" not in repr(resolved)


def test_tasks_to_cancel_may_be_repeated_or_separated_by_commas() -> None:
    config = FakeConfig({"esdc_allow_cancel": ["3e3d1-a,3e3d1-b", "3e3d1-c"]})
    assert settings(config).allow_cancel == ("3e3d1-a", "3e3d1-b", "3e3d1-c")


def test_last_seed_is_the_one_the_previous_run_recorded() -> None:
    config = FakeConfig({"esdc_seed": "last"}, cache=FakeCache({"esdc/seed": 1234}))
    assert settings(config).seed == 1234


def test_last_seed_without_a_previous_run_is_a_usage_error() -> None:
    with pytest.raises(pytest.UsageError, match="no previous run"):
        settings(FakeConfig({"esdc_seed": "last"}, cache=FakeCache()))


@pytest.mark.parametrize(
    ("name", "value"), [("esdc_budget", "soon"), ("esdc_profile", "thorough"), ("esdc_seed", "x")]
)
def test_a_bad_value_is_a_usage_error_naming_its_option(name: str, value: str) -> None:
    with pytest.raises(pytest.UsageError, match=name.replace("esdc_", "--esdc-")):
        settings(FakeConfig({name: value}))
