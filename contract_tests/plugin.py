"""The pytest plugin of the contract suite, loaded by ``contract_tests/conftest.py``.

In the manner of pytest-base-url and pytest-randomly: options in an ``esdc`` group (command
line > ``ESDC_*`` environment variable > ini), the target and the seed in the report header,
``--esdc-seed last`` to repeat the previous run, and the summary at the end of the report.
"""

from __future__ import annotations

import json
import re
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pytest

from contract_tests import settings as options
from contract_tests.client import Client
from contract_tests.errors import BudgetExhausted, ContractViolation, TargetError
from contract_tests.run import Run
from contract_tests.target import ReferenceControl

_RUN: Run | None = None
_SETTINGS = pytest.StashKey[options.Settings]()
_REPORT = pytest.StashKey[Any]()
_SEEDED_HYPOTHESIS = pytest.StashKey[bool]()


def current() -> Run:
    """The run of this pytest session; test modules call it at import to build their schemas."""
    if _RUN is None:
        raise RuntimeError("the contract plugin is not configured; run the suite with pytest")
    return _RUN


def pytest_addoption(parser: pytest.Parser) -> None:
    options.add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    # Not tryfirst: the cache (for --esdc-seed last) is set up by a tryfirst configure, and
    # this plugin, registered after Hypothesis's, still seeds it before it configures.
    global _RUN
    resolved = options.resolve(config)
    config.stash[_SETTINGS] = resolved
    cache = getattr(config, "cache", None)
    if cache is not None:
        cache.set(options.SEED_CACHE_KEY, resolved.seed)
    # The stateful tests are plain Hypothesis tests: seed them as schemathesis's are.
    if getattr(config.option, "hypothesis_seed", None) is None:
        config.option.hypothesis_seed = str(resolved.seed)
        config.stash[_SEEDED_HYPOTHESIS] = True
    try:
        _RUN = Run.start(resolved)
    except TargetError as exc:
        raise pytest.UsageError(str(exc)) from None
    from contract_tests.report import Report

    config.stash[_REPORT] = Report(_RUN)


def pytest_unconfigure(config: pytest.Config) -> None:
    global _RUN
    # Our checks sit in schemathesis's global registry: leave none behind for other tests.
    from schemathesis.checks import CHECKS

    for name in ("task_state_http_status", "es_headers_present", "task_log_filter_errors"):
        if name in CHECKS.get_all_names():
            CHECKS.unregister(name)
    if config.stash.get(_SEEDED_HYPOTHESIS, False):
        from hypothesis import core

        core.global_force_seed = None
    if _RUN is not None:
        _RUN.close()
        _RUN = None


def pytest_report_header(config: pytest.Config) -> list[str]:
    run = current()
    pacing = f"{run.pacer.user_rate} per user" if run.pacer.paces else "off"
    budget = f"{run.settings.budget:g} s" if run.settings.budget else "none"
    seed = run.settings.seed
    cancels = "any task" if run.may_write_freely else list(run.settings.allow_cancel) or "nothing"
    return [
        f"esdc: target {run.target.description} ({run.target.base_url})",
        f"esdc: seed {seed} (repeat with --esdc-seed {seed} or --esdc-seed last)",
        f"esdc: profile {run.settings.profile}, pacing {pacing}, budget {budget}, "
        f"may cancel {cancels}",
    ]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    message, replays, answers = "", None, None
    error = call.excinfo.value if call.excinfo is not None else None
    if isinstance(error, ContractViolation):
        message = error.message
        replays = [exchange.curl() for exchange in error.exchanges]
        answers = [exchange.summary(200) for exchange in error.exchanges]
    elif isinstance(error, BaseExceptionGroup):
        message, replays = _schemathesis_failures(error)
    if _RUN is not None and (report.when == "call" or report.failed or report.skipped):
        item.config.stash[_REPORT].add(report, message=message, replays=replays, answers=answers)
    return report


def _schemathesis_failures(group: BaseExceptionGroup[Any]) -> tuple[str, list[str]]:
    """What schemathesis found, one line per failure, and its curl replays."""
    lines = []
    for failure in group.exceptions:
        title = getattr(failure, "title", type(failure).__name__)
        detail = " ".join(str(getattr(failure, "message", "")).split())
        lines.append(f"{title}: {detail}" if detail else str(title))
    replays = re.findall(r"^\s*(curl .+)$", str(group), re.MULTILINE)
    return "\n".join(dict.fromkeys(lines)), list(dict.fromkeys(replays))


def _is_schemathesis(item: pytest.Item) -> bool:
    return item.nodeid.split("::")[0].endswith("test_schema.py")


def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    """The named checks first, as they are cheap and pointed; then schemathesis, which takes
    what is left of a time budget; the state history and the answers' conformance last, as they
    judge every answer before."""

    def rank(item: pytest.Item) -> int:
        if item.name in (
            "test_task_state_never_goes_backwards",
            "test_answers_to_the_named_checks_match_the_spec",
        ):
            return 2
        return 1 if _is_schemathesis(item) else 0

    items.sort(key=rank)
    if _RUN is not None:
        _RUN.schemathesis_tests_left = sum(1 for item in items if _is_schemathesis(item))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, None, None]:
    """Skip what the time budget has no room for, and what ran out of it while setting up."""
    if _RUN is not None and _RUN.budget.exhausted:
        pytest.skip(f"the time budget of {_RUN.settings.budget:g} s ran out before this check")
    try:
        return (yield)
    except BudgetExhausted as exc:
        pytest.skip(str(exc))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    """File schemathesis's failures under the running test; a check that runs out of time is
    skipped, not failed."""
    if _RUN is None:
        return (yield)
    _RUN.ledger.current_test = item.nodeid
    if _is_schemathesis(item):
        _RUN.start_share()
    try:
        return (yield)
    except BudgetExhausted as exc:
        pytest.skip(str(exc))
    finally:
        _RUN.ledger.current_test = None


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    if _REPORT not in config.stash or _RUN is None:
        return
    report = config.stash[_REPORT]
    terminalreporter.section("Danube Cloud contract check")
    for line in report.lines():
        terminalreporter.write_line(line)
    path = config.stash[_SETTINGS].report_json
    if path:
        Path(path).write_text(json.dumps(report.as_json(), indent=2) + "\n")


# -- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def esdc_run() -> Run:
    """The run: settings, target, facts of the spec, ledger."""
    return current()


@pytest.fixture(scope="session", autouse=True)
def _esdc_junit_properties(record_testsuite_property: Any, esdc_run: Run) -> Iterator[None]:
    record_testsuite_property("esdc_target", esdc_run.target.base_url)
    record_testsuite_property("esdc_seed", esdc_run.settings.seed)
    yield
    for name, excused in esdc_run.ledger.excused.items():
        if excused.rule.kind == "deviation":
            record_testsuite_property(f"esdc_deviation_{name}", excused.count)


def _client(run: Run, identity: str, option: str) -> Client:
    if run.keys.get(identity) is None:
        pytest.skip(f"needs another key: {option}")
    return run.client(identity)


@pytest.fixture(scope="session")
def user(esdc_run: Run) -> Client:
    """The API as the plain user whose key the suite was given."""
    return esdc_run.client("user")


@pytest.fixture(scope="session")
def peer(esdc_run: Run) -> Client:
    """The API as another plain user."""
    return _client(esdc_run, "peer", "--esdc-peer-api-key (esdc-api check --peer-api-key)")


@pytest.fixture(scope="session")
def admin(esdc_run: Run) -> Client:
    """The API as an admin of the user's datacenter."""
    return _client(esdc_run, "admin", "--esdc-admin-api-key (esdc-api check --admin-api-key)")


@pytest.fixture(scope="session")
def anonymous(esdc_run: Run) -> Client:
    """The API without credentials."""
    return esdc_run.client("anonymous")


@pytest.fixture(scope="session")
def reference(esdc_run: Run) -> ReferenceControl:
    """The reference server's control API; tests needing it are skipped on deployments."""
    if esdc_run.control is None:
        pytest.skip("needs a reference server (in-process, or --esdc-reference)")
    return esdc_run.control


@pytest.fixture(scope="session")
def tasks(esdc_run: Run, user: Client) -> Any:
    """The user's tasks: made through the control API, or found on the deployment."""
    from contract_tests.tasks import Tasks

    return Tasks(esdc_run, user)
