"""The suite's options: one table, read with the precedence command line > environment > ini.

Each option is a pytest command-line option in the ``esdc`` group, an ``ESDC_*`` environment
variable and (except for the API keys, which do not belong in a file) an ini key, as
pytest-base-url does for ``--base-url``. :class:`Settings` is the resolved, frozen result.
"""

from __future__ import annotations

import os
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest

SEED_CACHE_KEY = "esdc/seed"
#: The time budget of a run against a deployment, unless one is given: nine minutes, so that
#: a CI job of ten minutes has room for installing the toolkit and keeping the report.
DEFAULT_BUDGET = 540.0


@dataclass(frozen=True)
class Option:
    """One option of the suite.

    :param ini: the ini key, or ``None`` for options that must not live in a file.
    """

    name: str  # the Settings field
    flag: str
    env: str
    help: str
    ini: str | None = None
    metavar: str | None = None
    multiple: bool = False
    is_flag: bool = False


OPTIONS = (
    Option(
        "base_url",
        "--esdc-url",
        "ESDC_BASE_URL",
        "base URL of the API under test, with its path (https://host/api); without one the "
        "reference server runs in-process",
        ini="esdc_base_url",
        metavar="URL",
    ),
    Option("api_key", "--esdc-api-key", "ESDC_API_KEY", "API key of a plain user", metavar="KEY"),
    Option(
        "peer_api_key",
        "--esdc-peer-api-key",
        "ESDC_PEER_API_KEY",
        "API key of another plain user, for the authorization checks",
        metavar="KEY",
    ),
    Option(
        "admin_api_key",
        "--esdc-admin-api-key",
        "ESDC_ADMIN_API_KEY",
        "API key of an admin of the user's datacenter, for the admin checks and the stats",
        metavar="KEY",
    ),
    Option(
        "reference",
        "--esdc-reference",
        "ESDC_REFERENCE",
        "the target is a reference server (esdc-api serve): create tasks through its /control/ API",
        ini="esdc_reference",
        is_flag=True,
    ),
    Option(
        "control_token",
        "--esdc-control-token",
        "ESDC_SERVE_CONTROL_TOKEN",
        "the reference server's control token (esdc-api serve --control-token, or the one it "
        "printed), sent to its /control/ API as ESDC-Control",
        metavar="TOKEN",
    ),
    Option(
        "read_only",
        "--esdc-read-only",
        "ESDC_READ_ONLY",
        "test the target as a deployment even if it is a reference server: only what the suite "
        "sends to production (for proving what that is)",
        ini="esdc_read_only",
        is_flag=True,
    ),
    Option(
        "app",
        "--esdc-app",
        "ESDC_APP",
        "test this ASGI app in-process instead (MODULE:NAME, an app or a function returning "
        "one); it must offer the reference server's /control/ API",
        ini="esdc_app",
        metavar="MODULE:NAME",
    ),
    Option(
        "allow_cancel",
        "--esdc-allow-cancel",
        "ESDC_ALLOW_CANCEL",
        "a task the suite may cancel, created for the purpose (repeat, or separate with commas); "
        "nothing else is ever cancelled on a deployment",
        metavar="ID",
        multiple=True,
    ),
    Option(
        "seed",
        "--esdc-seed",
        "ESDC_SEED",
        "seed of the generated requests; 'last' repeats the previous run's",
        ini="esdc_seed",
        metavar="N|last",
    ),
    Option(
        "budget",
        "--esdc-budget",
        "ESDC_BUDGET",
        "stop sending requests after this many seconds and report what was left untested; "
        f"the default is {DEFAULT_BUDGET:g} against a URL, none in-process",
        ini="esdc_budget",
        metavar="SECONDS",
    ),
    Option(
        "require_complete",
        "--esdc-require-complete",
        "ESDC_REQUIRE_COMPLETE",
        "fail the run if the budget left anything untested (by default that is reported, "
        "and the run passes if all that ran passed)",
        ini="esdc_require_complete",
        is_flag=True,
    ),
    Option(
        "strict",
        "--esdc-strict",
        "ESDC_STRICT",
        "fail the run for the known defects of the deployment's version too (by default they "
        "are reported in a section of their own)",
        ini="esdc_strict",
        is_flag=True,
    ),
    Option(
        "check_throttle",
        "--esdc-check-throttle",
        "ESDC_CHECK_THROTTLE",
        "provoke the throttle once, with failed logins of a user that does not exist, and judge "
        "its 429 (off by default: it keeps anonymous calls from this address waiting a minute)",
        ini="esdc_check_throttle",
        is_flag=True,
    ),
    Option(
        "pace",
        "--esdc-pace",
        "ESDC_PACE",
        "requests per minute per user, as the deployment's throttle allows ('45/min'); 'off' "
        "sends freely; 'auto' (the default) paces remote targets and not local ones",
        ini="esdc_pace",
        metavar="RATE|off|auto",
    ),
    Option(
        "profile",
        "--esdc-profile",
        "ESDC_PROFILE",
        "how hard schemathesis tries: 'full' (default) or 'quick'",
        ini="esdc_profile",
        metavar="NAME",
    ),
    Option(
        "report_json",
        "--esdc-report-json",
        "ESDC_REPORT_JSON",
        "also write the summary as JSON to this file",
        ini="esdc_report_json",
        metavar="PATH",
    ),
    Option(
        "command",
        "--esdc-command",
        "ESDC_COMMAND",
        "how the run was started, for the rerun lines of the summary: 'pytest' (the default) "
        "or 'check' (esdc-api check sets it)",
        metavar="pytest|check",
    ),
)


@dataclass(frozen=True)
class Profile:
    """How hard schemathesis tries: examples per operation, stateful scenarios, and whether
    the coverage phase (every boundary and invalid value of every parameter) runs."""

    max_examples: int
    stateful_steps: int
    stateful_examples: int
    coverage: bool = True


PROFILES = {
    "full": Profile(max_examples=60, stateful_steps=10, stateful_examples=30),
    # For a quick look, and for proving the suite catches drift many times over.
    "quick": Profile(max_examples=8, stateful_steps=4, stateful_examples=3, coverage=False),
}


@dataclass(frozen=True)
class Settings:
    """The resolved options of one run."""

    base_url: str | None = None
    api_key: str | None = field(default=None, repr=False)
    peer_api_key: str | None = field(default=None, repr=False)
    admin_api_key: str | None = field(default=None, repr=False)
    control_token: str | None = field(default=None, repr=False)
    reference: bool = False
    read_only: bool = False
    app: str | None = None
    allow_cancel: tuple[str, ...] = ()
    seed: int = 0
    budget: float | None = None
    require_complete: bool = False
    strict: bool = False
    check_throttle: bool = False
    pace: str = "auto"
    profile: str = "full"
    report_json: str | None = None
    command: str = "pytest"

    def __repr__(self) -> str:
        keys = [
            name for name in ("api_key", "peer_api_key", "admin_api_key") if getattr(self, name)
        ]
        return (
            f"Settings(target={self.base_url or self.app or 'in-process'!r}, seed={self.seed}, "
            f"profile={self.profile!r}, budget={self.budget}, pace={self.pace!r}, "
            f"keys={keys}, allow_cancel={list(self.allow_cancel)})"
        )

    @property
    def profile_values(self) -> Profile:
        return PROFILES[self.profile]


def add_options(parser: pytest.Parser) -> None:
    """Register the options in the ``esdc`` group and their ini keys."""
    group = parser.getgroup("esdc", "Danube Cloud contract tests")
    for option in OPTIONS:
        help_text = f"{option.help} [env {option.env}]"
        if option.is_flag:
            group.addoption(
                option.flag,
                action="store_true",
                default=None,
                dest=f"esdc_{option.name}",
                help=help_text,
            )
        elif option.multiple:
            group.addoption(
                option.flag,
                action="append",
                default=None,
                dest=f"esdc_{option.name}",
                metavar=option.metavar,
                help=help_text,
            )
        else:
            group.addoption(
                option.flag,
                default=None,
                dest=f"esdc_{option.name}",
                metavar=option.metavar,
                help=help_text,
            )
        if option.ini is not None:
            parser.addini(option.ini, help=option.help, default=None)


def _raw(config: pytest.Config, option: Option, environ: Mapping[str, str]) -> Any:
    value = config.getoption(f"esdc_{option.name}", default=None)
    if value is not None:
        return value
    if option.env in environ and environ[option.env] != "":
        return environ[option.env]
    if option.ini is not None:
        value = config.getini(option.ini)
        if value not in (None, "", []):
            return value
    return None


def _boolean(value: Any, option: Option) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off", ""}:
        return False
    raise pytest.UsageError(f"{option.flag} / {option.env}: expected true or false, not {value!r}")


def _ids(value: Any) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [value]
    found: list[str] = []
    for item in items:
        found += [part for part in str(item).replace(",", " ").split() if part]
    return tuple(dict.fromkeys(found))


def _seed(value: Any, config: pytest.Config) -> int:
    if value is None:
        return random.Random().getrandbits(32)
    if str(value) == "last":
        cache = getattr(config, "cache", None)
        last = cache.get(SEED_CACHE_KEY, None) if cache is not None else None
        if last is None:
            raise pytest.UsageError("--esdc-seed last: no previous run recorded a seed here")
        return int(last)
    try:
        return int(value)
    except ValueError:
        raise pytest.UsageError(f"--esdc-seed: a number or 'last', not {value!r}") from None


def resolve(config: pytest.Config, environ: Mapping[str, str] | None = None) -> Settings:
    """Read every option: command line, then environment, then ini, then the default.

    :raises pytest.UsageError: for a value that cannot be used, saying which option it was.
    """
    environ = os.environ if environ is None else environ
    raw = {option.name: _raw(config, option, environ) for option in OPTIONS}
    by_name = {option.name: option for option in OPTIONS}
    values: dict[str, Any] = {
        "base_url": raw["base_url"].rstrip("/") if raw["base_url"] else None,
        "api_key": raw["api_key"],
        "peer_api_key": raw["peer_api_key"],
        "admin_api_key": raw["admin_api_key"],
        "control_token": raw["control_token"],
        **{
            name: _boolean(raw[name], by_name[name]) if raw[name] is not None else False
            for name in ("reference", "read_only", "require_complete", "strict", "check_throttle")
        },
        "app": raw["app"],
        "allow_cancel": _ids(raw["allow_cancel"]) if raw["allow_cancel"] else (),
        "seed": _seed(raw["seed"], config),
        "report_json": raw["report_json"],
    }
    if raw["budget"] is not None:
        try:
            values["budget"] = float(raw["budget"])
        except ValueError:
            raise pytest.UsageError(
                f"--esdc-budget: a number of seconds, not {raw['budget']!r}"
            ) from None
        if values["budget"] <= 0:
            raise pytest.UsageError("--esdc-budget: give a positive number of seconds")
    elif values["base_url"]:
        values["budget"] = DEFAULT_BUDGET
    command = str(raw["command"] or "pytest")
    if command not in ("pytest", "check"):
        raise pytest.UsageError(f"--esdc-command: 'pytest' or 'check', not {command!r}")
    values["command"] = command
    values["pace"] = str(raw["pace"] or "auto")
    profile = str(raw["profile"] or "full")
    if profile not in PROFILES:
        raise pytest.UsageError(f"--esdc-profile: one of {', '.join(PROFILES)}, not {profile!r}")
    values["profile"] = profile
    if values["base_url"] and values["app"]:
        raise pytest.UsageError("--esdc-url and --esdc-app name two targets; give one of them")
    return Settings(**values)
