"""The pytest plugin of the contract suite, loaded by ``contract_tests/conftest.py``.

In the manner of pytest-base-url and pytest-randomly: options in an ``esdc`` group (command
line > ``ESDC_*`` environment variable > ini), the target and the seed in the report header,
``--esdc-seed last`` to repeat the previous run, and the summary at the end of the report.
Before the first request the plan is printed (:mod:`contract_tests.plan`), and while the run
goes a progress line every few seconds.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Generator, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from contract_tests import settings as options
from contract_tests.client import Client
from contract_tests.errors import BudgetExhausted, ContractViolation, KeptThrottling, TargetError
from contract_tests.pacing import ANONYMOUS
from contract_tests.plan import (
    COVERAGE_PER_OPERATION,
    COVERAGE_PER_PARAMETER,
    PARTS,
    Part,
    Plan,
)
from contract_tests.run import IDENTITIES, Run
from contract_tests.target import ReferenceControl
from esdc_api.rates import ANONYMOUS_RATE, USER_RATE

_RUN: Run | None = None
_SETTINGS = pytest.StashKey[options.Settings]()
_REPORT = pytest.StashKey[Any]()
_SEEDED_HYPOTHESIS = pytest.StashKey[bool]()
#: The checks of ours in schemathesis's global registry, removed again when the run ends.
OUR_CHECKS = ("task_state_http_status", "task_id_answers", "task_log_filter_errors")
#: What a named check without an estimate of its own is taken to send.
DEFAULT_COST = {"user": 4}


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
    config.addinivalue_line(
        "markers",
        "esdc_check(rule, part='named checks', **requests): the rule a contract check judges, "
        "the part of the run it belongs to, and the requests it sends as each identity",
    )
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

    for name in OUR_CHECKS:
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
    pacing = f"{run.pacer.user_rate} per user" if run.pacer.paces else "unpaced"
    if run.pacer.learn:
        pacing += " until the first 429 says otherwise"
    budget = f"{run.settings.budget:g} s" if run.settings.budget else "none"
    seed = run.settings.seed
    cancels = "any task" if run.may_write_freely else list(run.settings.allow_cancel) or "nothing"
    return [
        f"esdc: target {run.target.description} ({run.target.base_url})",
        f"esdc: seed {seed} (repeat with --esdc-seed {seed} or --esdc-seed last)",
        f"esdc: profile {run.settings.profile}, pacing {pacing}, budget {budget}, "
        f"may cancel {cancels}",
    ]


# -- what each test is --------------------------------------------------------------------------


def part_of(item: pytest.Item) -> str:
    """The part of the run a test belongs to (:data:`contract_tests.plan.PARTS`)."""
    marker = item.get_closest_marker("esdc_check")
    if marker is not None:
        return str(marker.kwargs.get("part", "named checks"))
    name = item.name.split("[")[0]
    if item.nodeid.split("::")[0].endswith("test_schema.py"):
        for phase in ("examples", "coverage", "fuzzing"):
            if phase in name:
                return phase
        if "Stateful" in item.nodeid:
            return "stateful"
        return "whole run"
    return "named checks"


def rule_of(item: pytest.Item) -> str | None:
    marker = item.get_closest_marker("esdc_check")
    return str(marker.args[0]) if marker is not None and marker.args else None


def _cost(item: pytest.Item, run: Run) -> Counter[str]:
    """The requests a test is expected to send, by identity."""
    part = part_of(item)
    marker = item.get_closest_marker("esdc_check")
    if marker is not None:
        only_if = marker.kwargs.get("only_if")
        if only_if is not None and not getattr(run.settings, only_if):
            return Counter()
        counted: Counter[str] = Counter()
        for name, value in marker.kwargs.items():
            if name == "plain":  # the peer's key where there is one, else the user's
                name = "peer" if run.keys.get("peer") else "user"
            if name == ANONYMOUS or (name in IDENTITIES and run.keys.get(name)):
                counted[name] += int(value)
        return counted
    if part not in ("examples", "coverage", "fuzzing", "stateful"):
        return Counter(DEFAULT_COST)
    identity = next((i for i in ("admin", "peer") if f"_{i}_" in item.name), "user")
    profile = run.settings.profile_values
    if part == "stateful":
        return Counter({identity: profile.stateful_examples * profile.stateful_steps})
    label = item.name.split("[", 1)[1].rstrip("]") if "[" in item.name else ""
    op = next((o for o in run.facts.operations.values() if o.label == label), None)
    params = len(op.definition.get("parameters", [])) + 1 if op is not None else 2
    if part == "examples":
        count = 2 if op is None else max(1, len(run.facts.examples_of(op.operation_id)))
    elif part == "coverage":
        count = COVERAGE_PER_OPERATION + COVERAGE_PER_PARAMETER * params
    else:
        count = profile.max_examples
    if op is not None and op.is_public and not run.target.is_in_process:
        identity = ANONYMOUS
    return Counter({identity: count})


def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    """Order the tests by the value of their part: named checks, examples, coverage, fuzzing,
    stateful, and last the checks that judge the whole run. Then plan the run."""
    if _RUN is None:
        items.sort(key=lambda item: PARTS.index(part_of(item)))
        return
    run = _RUN
    # Within the last part, the checks that still send requests come before those that only
    # judge what the run got.
    items.sort(key=lambda item: (PARTS.index(part_of(item)), not _cost(item, run)))
    parts = {name: Part(name) for name in PARTS}
    for item in items:
        part = parts[part_of(item)]
        part.tests += 1
        part.requests += _cost(item, run)
    run.tests_left = {name: part.tests for name, part in parts.items()}
    rates = {identity: run.pacer.rate_of(identity) for identity in (*IDENTITIES, ANONYMOUS)}
    if not run.pacer.paces and not run.target.is_in_process and run.settings.pace == "auto":
        # unpaced until the first 429: plan for the spec's throttle
        rates = {i: ANONYMOUS_RATE if i == ANONYMOUS else USER_RATE for i in rates}
    rates = {i: rate for i, rate in rates.items() if i == ANONYMOUS or run.keys.get(i)}
    run.plan = Plan(parts.values(), rates, run.budget.seconds)
    run.budget.reserve = run.plan.reserve


def pytest_collection_finish(session: pytest.Session) -> None:
    """Print the plan, then make the run's first requests."""
    if _RUN is None or session.config.option.collectonly:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:

        def write(line: str) -> None:
            reporter.ensure_newline()
            reporter.write_line(line)

        _RUN.write = write
        if _RUN.plan is not None:
            for line in _RUN.plan.lines(datetime.now()):
                write(f"esdc: {line}")
    try:
        _RUN.begin()
    except TargetError as exc:
        raise pytest.UsageError(str(exc)) from None


# -- running the tests --------------------------------------------------------------------------


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    message, replays, answers, rule = "", None, None, rule_of(item)
    error = call.excinfo.value if call.excinfo is not None else None
    if isinstance(error, ContractViolation):
        message = error.message
        rule = error.rule or rule
        replays = [exchange.curl() for exchange in error.exchanges]
        answers = [exchange.summary(200) for exchange in error.exchanges]
    elif isinstance(error, BaseExceptionGroup):
        message, replays = _schemathesis_failures(error)
    if _RUN is not None and (report.when == "call" or report.failed or report.skipped):
        item.config.stash[_REPORT].add(
            report, message=message, replays=replays, answers=answers, rule=rule
        )
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


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, None, None]:
    """Skip what the time budget has no room for, and what ran out of it while setting up."""
    if _RUN is not None:
        _RUN.start_part(part_of(item))
        if _RUN.budget.exhausted:
            pytest.skip(f"the time budget of {_RUN.settings.budget:g} s ran out before this check")
    try:
        return (yield)
    except (BudgetExhausted, KeptThrottling) as exc:
        pytest.skip(str(exc))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    """File schemathesis's failures under the running test; a check that runs out of time or
    is throttled throughout is skipped, not failed."""
    if _RUN is None:
        return (yield)
    _RUN.ledger.current_test = item.nodeid
    _RUN.ledger.current_rule = rule_of(item)
    try:
        return (yield)
    except (BudgetExhausted, KeptThrottling) as exc:
        pytest.skip(str(exc))
    finally:
        _RUN.ledger.current_test = None
        _RUN.ledger.current_rule = None


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """With --esdc-require-complete, what the budget left untested fails the run."""
    if _RUN is None or not _RUN.settings.require_complete or _REPORT not in session.config.stash:
        return
    if session.config.stash[_REPORT].untested_for_time() and exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


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
    for name, seen in esdc_run.ledger.defects.items():
        record_testsuite_property(f"esdc_known_defect_{name}", seen.count)


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
def plain(esdc_run: Run) -> Client:
    """A plain user, for checks that any plain user's answer shows: the peer where there is
    one, so that the requests are spread over the throttle windows of the keys given."""
    return esdc_run.client("peer" if esdc_run.keys.get("peer") else "user")


@pytest.fixture(scope="session")
def anonymous(esdc_run: Run) -> Client:
    """The API without credentials."""
    return esdc_run.client("anonymous")


@pytest.fixture(scope="session")
def reference(esdc_run: Run) -> ReferenceControl:
    """The reference server's control API; tests needing it are skipped on deployments."""
    if esdc_run.control is None:
        pytest.skip(
            "needs a reference server (in-process, or over HTTP with --esdc-reference, "
            "esdc-api check --reference)"
        )
    return esdc_run.control


@pytest.fixture(scope="session")
def tasks(esdc_run: Run, user: Client) -> Any:
    """The user's tasks: made through the control API, or found on the deployment."""
    from contract_tests.tasks import Tasks

    return Tasks(esdc_run, user)
