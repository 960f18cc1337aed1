"""The ``esdc-api`` command line: one group, a subcommand per job.

Every option can also be set from an ``ESDC_``-prefixed environment variable (``ESDC_PORT``,
``ESDC_SPEC``, ...); an option on the command line wins over the environment, which wins over
the default. Heavy imports happen inside the subcommand that needs them.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from esdc_api import __version__, extras
from esdc_api.errors import ExternalToolError, SpecError, SpecNotFound

#: The exit status of ``esdc-api lint`` when the spec has errors (2 is a usage error).
EXIT_PROBLEMS = 1


def _rate(value: str, option: str) -> str:
    """A throttle rate as Danube Cloud writes it, checked: ``45/min``."""
    from esdc_api.rates import Rate

    try:
        Rate.parse(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint=f"'{option}'") from None
    return value


class Moment(click.ParamType):  # type: ignore[type-arg]
    """An ISO 8601 moment: ``2026-12-01T10:14:26.041843+00:00``, ``2026-12-01T10:14:26Z``,
    ``2026-12-01``."""

    name = "MOMENT"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        from datetime import UTC, datetime

        from mockserver.clock import check_moment

        if isinstance(value, datetime):
            return value
        try:
            moment = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
        except ValueError:
            self.fail(
                f"{value!r} is not an ISO 8601 moment, such as 2026-12-01T10:14:26Z", param, ctx
            )
        try:
            return check_moment(moment if moment.tzinfo else moment.replace(tzinfo=UTC))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


class SpecPath(click.Path):
    """A spec file; defaults to ``$ESDC_SPEC`` or the project's ``openapi/openapi.yaml``."""

    def __init__(self) -> None:
        super().__init__(exists=True, dir_okay=False, path_type=Path)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "auto_envvar_prefix": "ESDC"})
@click.version_option(__version__, prog_name="esdc-api")
def cli() -> None:
    """Tools for the Danube Cloud task API, built from its OpenAPI spec.

    \b
    Environment variables ESDC_<COMMAND>_<OPTION> set any option: ESDC_SERVE_PORT=9000,
    ESDC_SERVE_THROTTLE=false for --no-throttle. The command line wins over the environment,
    which wins over the default. ESDC_SPEC names the spec for every command.
    """


def _suite_test(suite: Path, arg: str) -> str | None:
    """The test of the suite an argument names (``test_x.py::test_y``), as a path pytest
    finds from anywhere; ``None`` for any other argument."""
    name = arg.split("::", 1)[0]
    if not name.startswith("test_") or not name.endswith(".py") or Path(name).exists():
        return None
    if not (suite / name).is_file():
        return None
    return str(suite / name) + arg[len(name) :]


@cli.command()
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="File to write: JSON if it ends in .json, YAML if .yaml or .yml.",
)
@click.option(
    "--dereference",
    is_flag=True,
    help="Write every $ref resolved, as the server's router reads it, instead of keeping the "
    "shared definitions under components/.",
)
@click.option("--spec", "spec_path", type=SpecPath(), default=None, help="The spec's root file.")
def bundle(output: Path, spec_path: Path | None, dereference: bool) -> None:
    """Bundle the split spec into one document.

    Shared definitions (schemas, parameters, responses, examples, headers) stay references to
    components/, named as their files define them: what code generators want, and what the
    reference server serves at /api/openapi.json. --dereference writes the resolved form.
    """
    from esdc_api import spec as spec_module

    if output.suffix not in {".json", ".yaml", ".yml"}:
        raise click.BadParameter(
            f"cannot tell the format of {output.name!r}: name the file .json, .yaml or .yml",
            param_hint="'-o' / '--output'",
        )
    load = spec_module.load_spec if dereference else spec_module.load_bundle
    try:
        document = load(spec_path)
        spec_module.dump(document, output)
    except SpecNotFound as exc:
        raise click.ClickException(str(exc)) from exc
    except SpecError as exc:
        raise click.ClickException(f"{exc}\n`esdc-api lint` shows where.") from exc
    click.echo(f"wrote {output} ({len(spec_module.operations(document))} operations)", err=True)


@cli.command()
@click.argument("spec", type=SpecPath(), required=False)
@click.option(
    "--external",
    is_flag=True,
    help="Also run Spectral and Redocly on the bundle: from node_modules/.bin (`npm ci` in a "
    "checkout) or PATH (`npm install -g`, versions as package.json pins them).",
)
@click.pass_context
def lint(ctx: click.Context, spec: Path | None, external: bool) -> None:
    """Check the spec and list every problem, each at its source file and JSON pointer.

    \b
    SPEC is the spec's root file: by default $ESDC_SPEC or the project's openapi/openapi.yaml.
    Exit status: 0 when there are no errors, 1 when there are (or a tool is missing),
    2 on a usage error.
    """
    _require("lint")
    from esdc_api import lint as lint_module
    from esdc_api import spec as spec_module

    root = spec if spec is not None else spec_module.default_spec_path()
    if not root.is_file():
        raise click.ClickException(str(SpecNotFound(root)))
    try:
        report = lint_module.lint(root, external=external)
    except ExternalToolError as exc:
        raise click.ClickException(str(exc)) from exc
    for problem in report.problems:
        click.echo(str(problem))
    for note in report.notes:
        click.echo(f"note: {note}", err=True)
    click.echo(report.summary())
    if report.errors:
        ctx.exit(EXIT_PROBLEMS)


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    default=8000,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port; 0 picks a free one.",
)
@click.option(
    "--db",
    default=":memory:",
    show_default=True,
    help="SQLite file for the state. A file with a world in it is reused as it is; otherwise "
    "the demo world is built into it.",
)
@click.option(
    "--world",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="A world file (YAML or JSON, ours or an export of a real deployment's stores) to "
    "start with instead of the demo world [default: the demo world, "
    "mockserver/worlds/demo.yaml].",
)
@click.option(
    "--seed",
    default=None,
    type=int,
    help="Seed of the world's made-up history and of new ids [default: the world's, 0].",
)
@click.option(
    "--history",
    default=None,
    type=click.IntRange(0, 10_000_000),
    help="Finished tasks in the world's made-up history (two log entries each) "
    "[default: the world's; 400 in the demo world].",
)
@click.option(
    "--at",
    "start",
    type=Moment(),
    default=None,
    help="Start the clock at this ISO 8601 moment (UTC unless an offset is given) instead of "
    "the world's own moment or now. A reused --db file's clock goes on from where it was "
    "(and as far as it would have run since) unless this is given.",
)
@click.option(
    "--scale",
    default=None,
    type=click.FloatRange(0, 10_000),
    help="Clock speed: 1 real time, 60 a minute per second, 0 frozen [default: 1; a reused "
    "--db file's clock keeps its own speed].",
)
@click.option(
    "--throttle/--no-throttle",
    default=True,
    show_default=True,
    help="Apply the real rate limits (45/min per user, 30/min per anonymous IP).",
)
@click.option(
    "--user-rate",
    default="45/min",
    show_default=True,
    callback=lambda _ctx, _param, value: _rate(value, "--user-rate"),
    help="Requests an authenticated user may make: N/s, N/min, N/hour or N/day.",
)
@click.option(
    "--anon-rate",
    default="30/min",
    show_default=True,
    callback=lambda _ctx, _param, value: _rate(value, "--anon-rate"),
    help="Requests an anonymous client (by IP address) may make, in the same form.",
)
@click.option(
    "--cors-origin",
    "cors_origins",
    multiple=True,
    metavar="ORIGIN",
    help="Turn CORS on for /api/ for this origin ('*' for any); repeat for more. Off by "
    "default, as on real deployments, which send no CORS headers.",
)
@click.option(
    "--allowed-host",
    "allowed_hosts",
    multiple=True,
    metavar="NAME",
    help="A name the server answers to besides localhost, IP addresses, --host and (beyond "
    "loopback) the machine's names; repeat for more, '.example.com' for a domain and its "
    "subdomains, '*' for any. Other Host headers get 400 (against DNS rebinding).",
)
@click.option(
    "--control/--no-control",
    default=True,
    show_default=True,
    help="Serve the control API under /control/ (it changes the world, and lists every "
    "account's password and key).",
)
@click.option(
    "--control-token",
    metavar="TOKEN",
    default=None,
    help="A token every control API call must send as 'ESDC-Control: TOKEN' [default: none "
    "on loopback; made up and printed when --host is beyond it].",
)
@click.option(
    "--control-cors-origin",
    "control_cors_origins",
    multiple=True,
    metavar="ORIGIN",
    help="Let pages of this origin call the control API (CORS); repeat for more. Off by "
    "default: other sites' pages are refused.",
)
@click.option(
    "--max-header-size",
    type=click.IntRange(1024),
    default=64 * 1024,
    show_default=True,
    metavar="BYTES",
    help="The most a request's line and headers may take together; more gets 431.",
)
@click.option(
    "--max-header-line",
    type=click.IntRange(256),
    default=16 * 1024,
    show_default=True,
    metavar="BYTES",
    help="The most one header may take; more gets 431.",
)
@click.option(
    "--max-body-size",
    type=click.IntRange(0),
    default=1024 * 1024,
    show_default=True,
    metavar="BYTES",
    help="The most a request's body may take (a world PUT to /control/world/ included: the "
    "demo world's export takes 0.3 MB); more gets 413. Reading a body holds the server for "
    "as long as it takes.",
)
@click.option(
    "--request-timeout",
    type=click.FloatRange(0.1),
    default=30.0,
    show_default=True,
    metavar="SECONDS",
    help="How long a request may take to arrive, from its first byte, and a new connection "
    "to send one; a slower one gets 408 and is closed.",
)
@click.option(
    "--max-connections",
    type=click.IntRange(1),
    default=1000,
    show_default=True,
    help="Open connections and running requests beyond which a request gets 503.",
)
@click.option(
    "--forwarded-allow-ips",
    "forwarded_allow_ips",
    multiple=True,
    metavar="IP",
    help="A proxy whose X-Forwarded-For and X-Forwarded-Proto are trusted ('*' for any); "
    "repeat for more. None by default: the throttle counts the peer's own address.",
)
@click.option(
    "--validate-responses", is_flag=True, help="Check every answer against the spec (slower)."
)
@click.option(
    "--cache/--no-cache",
    default=True,
    show_default=True,
    help="Give a read the answer it got before while nothing it shows has changed.",
)
@click.option(
    "--docs-dir",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=None,
    help="A built docs site to serve under /docs/ [default: build/docs/html under the working "
    "directory, where 'esdc-api docs' writes it, when it exists].",
)
@click.option("--spec", "spec_path", type=SpecPath(), default=None, help="The spec's root file.")
@click.option(
    "--log-level",
    type=click.Choice(["critical", "error", "warning", "info", "debug"]),
    default="info",
    show_default=True,
)
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Processes serving the API, all from one database file, each seeing the others' "
    "writes at once; with the default --db :memory: the world goes into a temporary file.",
)
@click.option(
    "--max-worlds",
    default=256,
    show_default=True,
    type=click.IntRange(0, 100_000),
    help="How many named worlds (/w/NAME/api/, made with POST /control/worlds/) the server "
    "holds at most.",
)
@click.option(
    "--journal",
    "journal_size",
    default=1000,
    show_default=True,
    type=click.IntRange(0, 1_000_000),
    help="How many requests to /api/ each world's journal keeps (GET /control/requests/); "
    "0 keeps none.",
)
@click.option(
    "--reload",
    is_flag=True,
    help="Build the server again when a file of the spec or the world file changes; a file "
    "that does not load leaves the previous server answering (GET /control/reload/ says why).",
)
def serve(**options: Any) -> None:
    """Run the reference server: the task API of a simulated deployment on 127.0.0.1:8000.

    It starts with a demo world (accounts, two datacenters, a day of task history and tasks
    still running), answers under /api/ as a real deployment does, and offers a control API
    under /control/ to create tasks and move the clock.

    \b
    Exit status: 0 once stopped (Ctrl-C), 1 when it cannot start (a port taken, a --db or
    --world file it cannot use: the message says why and what to do), 2 on a usage error.
    """
    import gc
    from datetime import UTC

    # The server's imports make no garbage, only what lives as long as the process: the
    # collections they would trigger walk it all, for nothing (a few percent of the start).
    collecting = gc.isenabled()
    gc.disable()
    try:
        from esdc_api.docs.build import DEFAULT_OUTPUT
        from mockserver.server import run
        from mockserver.settings import Settings
        from mockserver.store import StoreError
        from mockserver.worlds.document import WorldError
    finally:
        if collecting:
            gc.enable()

    if options["docs_dir"] is None and DEFAULT_OUTPUT.is_dir():
        options["docs_dir"] = DEFAULT_OUTPUT

    start = options.pop("start")
    if start is not None and start.tzinfo is None:
        start = start.replace(tzinfo=UTC)
    options["cors_origins"] = tuple(o for o in options["cors_origins"] if o)
    options["control_cors_origins"] = tuple(o for o in options["control_cors_origins"] if o)
    options["allowed_hosts"] = tuple(h for h in options["allowed_hosts"] if h)
    options["forwarded_allow_ips"] = tuple(ip for ip in options["forwarded_allow_ips"] if ip)
    try:
        run(Settings(start=start, **options))
    except (SpecError, WorldError, StoreError) as exc:
        raise click.ClickException(str(exc)) from exc


@cli.command()
@click.argument("url", required=False, envvar="ESDC_BASE_URL")
@click.option(
    "--api-key",
    envvar="ESDC_API_KEY",
    metavar="KEY",
    help="API key of a plain user [env ESDC_API_KEY].",
)
@click.option(
    "--peer-api-key",
    envvar="ESDC_PEER_API_KEY",
    metavar="KEY",
    help="API key of another plain user, for the authorization checks [env ESDC_PEER_API_KEY].",
)
@click.option(
    "--admin-api-key",
    envvar="ESDC_ADMIN_API_KEY",
    metavar="KEY",
    help="API key of an admin of the user's datacenter [env ESDC_ADMIN_API_KEY].",
)
@click.option(
    "--reference",
    envvar="ESDC_REFERENCE",
    is_flag=True,
    help="The target is a reference server (esdc-api serve): make tasks through its /control/ API.",
)
@click.option(
    "--control-token",
    envvar="ESDC_SERVE_CONTROL_TOKEN",
    metavar="TOKEN",
    help="The reference server's control token (the one 'esdc-api serve --control-token' was "
    "given or printed), sent to its /control/ API as ESDC-Control [env "
    "ESDC_SERVE_CONTROL_TOKEN].",
)
@click.option(
    "--allow-cancel",
    "allow_cancel",
    multiple=True,
    envvar="ESDC_ALLOW_CANCEL",
    metavar="ID[,ID...]",
    help="A task the check may cancel, created for the purpose; repeat or separate with commas. "
    "Nothing else on a deployment is ever cancelled.",
)
@click.option(
    "--seed",
    envvar="ESDC_SEED",
    metavar="N|last",
    help="Seed of the generated requests; 'last' repeats the previous run.",
)
@click.option(
    "--budget",
    envvar="ESDC_BUDGET",
    type=click.FloatRange(min=0, min_open=True),
    metavar="SECONDS",
    help="Stop sending requests after this long and report what was left untested "
    "[default: 540 against a URL, so that a 10-minute CI job fits; none in-process].",
)
@click.option(
    "--require-complete",
    envvar="ESDC_REQUIRE_COMPLETE",
    is_flag=True,
    default=None,
    help="Fail (exit 1) if the budget left anything untested; by default that is listed "
    "and the check passes if all that ran passed.",
)
@click.option(
    "--strict",
    envvar="ESDC_STRICT",
    is_flag=True,
    default=None,
    help="Fail for the known defects of the deployment's version too; by default they are "
    "reported in a section of their own.",
)
@click.option(
    "--check-throttle",
    envvar="ESDC_CHECK_THROTTLE",
    is_flag=True,
    default=None,
    help="Provoke the throttle once (failed logins of a user that does not exist) and judge "
    "its 429; off by default, since it makes anonymous calls from this address wait a minute.",
)
@click.option(
    "--pace",
    envvar="ESDC_PACE",
    metavar="RATE|off|auto",
    help="Requests per minute per user ('45/min'); by default remote targets are paced, "
    "local ones not.",
)
@click.option(
    "--profile",
    envvar="ESDC_PROFILE",
    type=click.Choice(["full", "quick"]),
    help="How hard schemathesis tries (default full).",
)
@click.option(
    "--junit-xml",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write a JUnit XML report.",
)
@click.option(
    "--report-json",
    envvar="ESDC_REPORT_JSON",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write the summary as JSON.",
)
@click.argument("pytest_args", nargs=-1, type=click.UNPROCESSED)
def check(url: str | None, pytest_args: tuple[str, ...], **options: Any) -> None:
    """Check a deployment of the task API at URL against the spec.

    URL is the API's base URL with its path (https://dc.example.com/api). Without one the
    reference server is checked in-process. Against a deployment the check only reads, except
    for the tasks named with --allow-cancel, and paces itself under the throttle (45 requests a
    minute per user). Arguments after -- go to pytest (e.g. -- -k task_log -x).

    Every option also reads the variable named in its help; a key is better given that way
    than on a command line that other users of the machine can see.

    \b
    Before sending anything it prints its plan: what fits in the budget at the throttle's
    rate, in order of value (the named checks, every operation's examples, coverage, then
    fuzzing and stateful runs), and while it runs how far it is. What the budget leaves out is
    listed as not tested. Arguments after -- that name a test (test_task_log.py::test_...)
    run that test only, as the summary's rerun lines do.

    \b
    Exit status: 0 the deployment matches the spec (what was not tested for lack of time
    is listed, not failed, unless --require-complete), 1 it differs (see the summary),
    2 a usage error, other values as pytest's.
    """
    _require("check")
    import pytest

    import contract_tests

    if url and "://" not in url:
        # without a URL, the first argument after -- lands here: it is pytest's
        pytest_args, url = (url, *pytest_args), None
    if url and not options["api_key"]:
        raise click.UsageError(
            "checking a deployment needs a user's key: --api-key KEY or ESDC_API_KEY"
        )
    suite = Path(contract_tests.__file__).parent
    selected = [_suite_test(suite, arg) for arg in pytest_args]
    tests = [arg for arg in selected if arg is not None]
    pytest_args = tuple(a for a, test in zip(pytest_args, selected, strict=True) if test is None)
    args = [
        *(tests or [str(suite)]),
        "--rootdir",
        str(Path.cwd()),
        "-c",
        os.devnull,  # the suite's behaviour must not depend on the project's pytest settings
        "-q",
        "-W",
        "ignore::DeprecationWarning",
        "-o",
        "junit_suite_name=esdc-contract",
        "--esdc-command=check",
    ]
    flags = {
        "api_key": "--esdc-api-key",
        "peer_api_key": "--esdc-peer-api-key",
        "admin_api_key": "--esdc-admin-api-key",
        "control_token": "--esdc-control-token",
        "seed": "--esdc-seed",
        "budget": "--esdc-budget",
        "pace": "--esdc-pace",
        "profile": "--esdc-profile",
        "report_json": "--esdc-report-json",
        "junit_xml": "--junitxml",
    }
    if url:
        args.append(f"--esdc-url={url}")
    for name, flag in (
        ("reference", "--esdc-reference"),
        ("require_complete", "--esdc-require-complete"),
        ("strict", "--esdc-strict"),
        ("check_throttle", "--esdc-check-throttle"),
    ):
        if options.pop(name):
            args.append(flag)
    args += [f"--esdc-allow-cancel={task}" for task in options.pop("allow_cancel")]
    args += [f"{flags[name]}={value}" for name, value in options.items() if value is not None]
    raise SystemExit(int(pytest.main([*args, *pytest_args])))


@cli.command()
@click.option(
    "-o",
    "--output",
    type=click.Path(file_okay=False, writable=True, path_type=Path),
    default=None,
    help="Folder to write the HTML site to [default: build/docs/html, which 'esdc-api serve' "
    "serves under /docs/].",
)
@click.option("--spec", "spec_path", type=SpecPath(), default=None, help="The spec's root file.")
@click.option("-q", "--quiet", is_flag=True, help="Print only warnings and errors.")
def docs(output: Path | None, spec_path: Path | None, quiet: bool) -> None:
    """Build the API docs from the spec, running every es example against the reference server.

    The build fails, naming the endpoint and the es command, when an example's answer has
    another status than its x-es-examples entry promises or does not match the spec's response
    schema. Every Sphinx warning is an error.
    """
    _require("docs")
    from sphinx.errors import SphinxError

    from esdc_api.docs.build import DEFAULT_OUTPUT, build

    try:
        status = None if quiet else sys.stdout
        index = build(output or DEFAULT_OUTPUT, spec_path=spec_path, status=status)
    except (SphinxError, SpecError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"wrote {index}", err=True)


#: The exit status of ``esdc-api replay`` when an exchange differs (2 is a usage error).
EXIT_DIFFERS = 1
#: The exit status of ``esdc-api replay`` when the server failed it (unreachable, control refused).
EXIT_TARGET_FAILED = 3


class TargetFailed(click.ClickException):
    """The replay's server could not be reached, or refused a step of the replay."""

    exit_code = EXIT_TARGET_FAILED


@cli.command()
@click.argument("transcript", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("url", required=False)
@click.option(
    "--world",
    "world_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The world the transcript was recorded in: an export of a deployment's stores "
    "(world.json) or a world file of ours (YAML or JSON).",
)
@click.option(
    "--json",
    "json_path",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Also write every exchange's verdict, differences and, where it is not identical, "
    "our answer, as JSON.",
)
@click.option(
    "--rewrite-host",
    is_flag=True,
    help="Send URL's host instead of the recorded Host header, and expect it in absolute URLs "
    "(Location, the log's paging links). For a deployment that refuses the recorded host.",
)
@click.option(
    "--no-verify",
    "insecure",
    is_flag=True,
    help="Do not check URL's TLS certificate (appliances often have a self-signed one).",
)
@click.option(
    "--loaded",
    is_flag=True,
    help="The reference server at URL already holds the world, as 'esdc-api serve --world "
    "WORLD --at SEEDED_AT --scale 0' starts it: do not load it again.",
)
@click.option(
    "--control-token",
    envvar="ESDC_SERVE_CONTROL_TOKEN",
    metavar="TOKEN",
    help="The control token of the reference server at URL (the one 'esdc-api serve "
    "--control-token' was given or printed), sent as ESDC-Control [env "
    "ESDC_SERVE_CONTROL_TOKEN].",
)
@click.option("--spec", "spec_path", type=SpecPath(), default=None, help="The spec's root file.")
@click.option("-v", "--verbose", is_flag=True, help="Print each exchange's verdict as it comes.")
def replay(
    transcript: Path,
    url: str | None,
    world_path: Path,
    json_path: Path | None,
    rewrite_host: bool,
    loaded: bool,
    insecure: bool,
    control_token: str | None,
    spec_path: Path | None,
    verbose: bool,
) -> None:
    """Replay a recording of a real deployment against a server and compare the answers.

    \b
    TRANSCRIPT  recorded exchanges, one JSON object a line; Danube Cloud 4.6's are
                ../shared/reference/real-4.6/transcript.jsonl (its README.md says how they
                were recorded), with the world --world ../shared/reference/real-4.6/world.json
    URL         the server (http://127.0.0.1:8000; a trailing /api is dropped). Without it,
                the reference server runs in-process with the world loaded.

    Each request goes out as recorded (its request target byte for byte, its headers with the
    recorded Host, its body) with the credentials its placeholders name: a user's API key from
    the world, or the token the server gave at the login the placeholder names. A server with
    a control API (esdc-api serve) is driven through it: the world is loaded, the clock frozen
    and moved to each exchange's recorded moment, the throttle cleared where the recording
    cleared it, the worker started and messages published when the recording did. A server
    without one (a real deployment, which must hold the same world) gets the requests at their
    recorded pace; the exchanges whose answers depend on the clock, the throttle or the
    workers are then named, and not counted against it.

    \b
    Compared: the status; the body as JSON (byte for byte when the recorded one is not JSON),
    arrays the spec marks x-unordered as multisets; the headers es_version, es_username,
    es_dc, es_task_response, Allow, Content-Type, Location, Retry-After, Vary,
    Content-Language and any Access-Control-*. Normalized first, and nothing else: times
    after the world's seed in bodies, login tokens, and the throttle's wait ("Expected
    available in N.0 seconds." and Retry-After, which may differ by a second).

    \b
    Each exchange is identical; declared (the recorded answer is a known defect of that
    version and ours is what the spec prescribes, or the spec's x-deviations allow every
    difference); or differing.

    \b
    Exit status: 0 nothing differs, 1 an exchange differs, 2 a usage error (a missing or
    unreadable transcript or world), 3 the server failed the replay.
    """
    from esdc_api import spec as spec_module
    from esdc_api.replay import (
        ReplayError,
        Target,
        TargetError,
        TranscriptError,
        WorldError,
        load_transcript,
        load_world,
        seed_moment,
    )
    from esdc_api.replay import replay as run_replay

    try:
        exchanges = load_transcript(transcript)
    except TranscriptError as exc:
        raise click.BadParameter(str(exc), param_hint="TRANSCRIPT") from exc
    try:
        world = load_world(world_path)
        at = seed_moment(world)
    except WorldError as exc:
        raise click.BadParameter(str(exc), param_hint="'--world'") from exc
    try:
        spec = spec_module.load_spec(spec_path)
    except SpecError as exc:
        raise click.ClickException(str(exc)) from exc

    def progress(result: Any) -> None:
        exchange = result.exchange
        click.echo(f"n={exchange.n} {result.verdict} {exchange.note}", err=True)

    try:
        if url:
            target = Target.url(
                url,
                rewrite_host=rewrite_host,
                world_loaded=loaded,
                verify=not insecure,
                control_token=control_token,
            )
        else:
            target = Target.reference(world, at)
    except TargetError as exc:
        if url:
            raise click.BadParameter(str(exc), param_hint="URL") from exc
        raise TargetFailed(str(exc)) from exc
    try:
        report = run_replay(
            exchanges, world, target, spec,
            transcript=str(transcript), progress=progress if verbose else None,
        )  # fmt: skip
    except WorldError as exc:
        raise click.BadParameter(str(exc), param_hint="'--world'") from exc
    except TargetError as exc:
        raise TargetFailed(str(exc)) from exc
    except ReplayError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(report.table(), nl=False)
    if json_path is not None:
        report.write_json(json_path)
        click.echo(f"wrote {json_path}", err=True)
    if report.failed:
        raise SystemExit(EXIT_DIFFERS)


def _require(extra: str) -> None:
    """Stop with a line naming the ``pip install`` when the subcommand's extra is missing."""
    try:
        extras.require(extra)
    except extras.MissingExtra as exc:
        raise click.ClickException(str(exc)) from None


def main() -> None:
    """Entry point of the ``esdc-api`` console script."""
    sys.exit(cli(prog_name="esdc-api"))
