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

from esdc_api import __version__
from esdc_api.errors import SpecError


class SpecPath(click.Path):
    """A spec file; defaults to ``$ESDC_SPEC`` or the project's ``openapi/openapi.yaml``."""

    def __init__(self) -> None:
        super().__init__(exists=True, dir_okay=False, path_type=Path)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "auto_envvar_prefix": "ESDC"})
@click.version_option(__version__, prog_name="esdc-api")
def cli() -> None:
    """Tools for the Danube Cloud task API, built from its OpenAPI spec.

    \b
    Environment variables ESDC_<OPTION> set any option (ESDC_PORT=9000); the command line
    wins over the environment, which wins over the default.
    """


@cli.command()
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="File to write: JSON if it ends in .json, YAML if .yaml or .yml.",
)
@click.option("--spec", "spec_path", type=SpecPath(), default=None, help="The spec's root file.")
def bundle(output: Path, spec_path: Path | None) -> None:
    """Bundle the split spec into one resolved document."""
    from esdc_api import spec as spec_module

    if output.suffix not in {".json", ".yaml", ".yml"}:
        raise click.BadParameter("name the file .json, .yaml or .yml", param_hint="'-o'")
    try:
        document = spec_module.load_spec(spec_path)
        spec_module.dump(document, output)
    except SpecError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"wrote {output} ({len(spec_module.operations(document))} operations)", err=True)


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535), help="Port; 0 picks a free one.")
@click.option(
    "--db",
    default=":memory:",
    show_default=True,
    help="SQLite file for the state. A file with a world in it is reused as it is; otherwise "
    "the demo world is built into it.",
)
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the demo world and of new ids.")
@click.option("--history", default=400, show_default=True, type=click.IntRange(0, 2_000_000), help="Finished tasks in the demo world's day of history (two log entries each).")
@click.option("--at", "start", type=click.DateTime(["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"]), default=None, help="Start the clock at this time (UTC unless an offset is given) instead of now.")
@click.option("--scale", default=1.0, show_default=True, type=click.FloatRange(0, 10_000), help="Clock speed: 1 real time, 60 a minute per second, 0 frozen.")
@click.option("--throttle/--no-throttle", default=True, show_default=True, help="Apply the real rate limits (45/min per user, 30/min per anonymous IP).")
@click.option("--cors-origin", "cors_origins", multiple=True, default=["*"], show_default=True, help="Origin a browser app may call from; repeat for more; '' turns CORS off.")
@click.option("--validate-responses", is_flag=True, help="Check every answer against the spec (slower).")
@click.option("--docs-dir", type=click.Path(file_okay=False, exists=True, path_type=Path), default=None, help="A built docs site to serve under /docs/.")
@click.option("--spec", "spec_path", type=SpecPath(), default=None, help="The spec's root file.")
@click.option("--log-level", type=click.Choice(["critical", "error", "warning", "info", "debug"]), default="info", show_default=True)
def serve(**options: Any) -> None:
    """Run the reference server: the task API of a simulated deployment on 127.0.0.1:8000.

    It starts with a demo world (accounts, two datacenters, a day of task history and tasks
    still running), answers under /api/ as a real deployment does, and offers a control API
    under /control/ to create tasks and move the clock.
    """
    from datetime import UTC

    from mockserver.server import run
    from mockserver.settings import Settings

    start = options.pop("start")
    if start is not None and start.tzinfo is None:
        start = start.replace(tzinfo=UTC)
    options["cors_origins"] = tuple(o for o in options["cors_origins"] if o)
    try:
        run(Settings(start=start, **options))
    except SpecError as exc:
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
    help="Stop sending requests after this long and report what was left untested.",
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
    Exit status: 0 the deployment matches the spec, 1 it differs (see the summary),
    2 a usage error, other values as pytest's.
    """
    import pytest

    import contract_tests

    if url and not options["api_key"]:
        raise click.UsageError(
            "checking a deployment needs a user's key: --api-key KEY or ESDC_API_KEY"
        )
    args = [
        str(Path(contract_tests.__file__).parent),
        "--rootdir",
        str(Path.cwd()),
        "-c",
        os.devnull,  # the suite's behaviour must not depend on the project's pytest settings
        "-q",
        "-W",
        "ignore::DeprecationWarning",
        "-o",
        "junit_suite_name=esdc-contract",
    ]
    flags = {
        "api_key": "--esdc-api-key",
        "peer_api_key": "--esdc-peer-api-key",
        "admin_api_key": "--esdc-admin-api-key",
        "seed": "--esdc-seed",
        "budget": "--esdc-budget",
        "pace": "--esdc-pace",
        "profile": "--esdc-profile",
        "report_json": "--esdc-report-json",
        "junit_xml": "--junitxml",
    }
    if url:
        args.append(f"--esdc-url={url}")
    if options.pop("reference"):
        args.append("--esdc-reference")
    args += [f"--esdc-allow-cancel={task}" for task in options.pop("allow_cancel")]
    args += [f"{flags[name]}={value}" for name, value in options.items() if value is not None]
    raise SystemExit(int(pytest.main([*args, *pytest_args])))


def main() -> None:
    """Entry point of the ``esdc-api`` console script."""
    sys.exit(cli(prog_name="esdc-api"))
