"""The ``esdc-api`` command line: one group, a subcommand per job.

Every option can also be set from an ``ESDC_``-prefixed environment variable (``ESDC_PORT``,
``ESDC_SPEC``, ...); an option on the command line wins over the environment, which wins over
the default. Heavy imports happen inside the subcommand that needs them.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from esdc_api import __version__
from esdc_api.errors import ExternalToolError, SpecError, SpecNotFound

#: The exit status of ``esdc-api lint`` when the spec has errors (2 is a usage error).
EXIT_PROBLEMS = 1


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
        raise click.BadParameter(
            f"cannot tell the format of {output.name!r}: name the file .json, .yaml or .yml",
            param_hint="'-o' / '--output'",
        )
    try:
        document = spec_module.load_spec(spec_path)
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
    help="Also run Spectral and Redocly (from node_modules/.bin, see package.json) on the bundle.",
)
@click.pass_context
def lint(ctx: click.Context, spec: Path | None, external: bool) -> None:
    """Check the spec and list every problem, each at its source file and JSON pointer.

    \b
    SPEC is the spec's root file: by default $ESDC_SPEC or the project's openapi/openapi.yaml.
    Exit status: 0 when there are no errors, 1 when there are, 2 on a usage error.
    """
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
    "--seed", default=0, show_default=True, type=int, help="Seed of the demo world and of new ids."
)
@click.option(
    "--history",
    default=400,
    show_default=True,
    type=click.IntRange(0, 2_000_000),
    help="Finished tasks in the demo world's day of history (two log entries each).",
)
@click.option(
    "--at",
    "start",
    type=click.DateTime(["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"]),
    default=None,
    help="Start the clock at this time (UTC unless an offset is given) instead of now.",
)
@click.option(
    "--scale",
    default=1.0,
    show_default=True,
    type=click.FloatRange(0, 10_000),
    help="Clock speed: 1 real time, 60 a minute per second, 0 frozen.",
)
@click.option(
    "--throttle/--no-throttle",
    default=True,
    show_default=True,
    help="Apply the real rate limits (45/min per user, 30/min per anonymous IP).",
)
@click.option(
    "--cors-origin",
    "cors_origins",
    multiple=True,
    default=["*"],
    show_default=True,
    help="Origin a browser app may call from; repeat for more; '' turns CORS off.",
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
    help="A built docs site to serve under /docs/.",
)
@click.option("--spec", "spec_path", type=SpecPath(), default=None, help="The spec's root file.")
@click.option(
    "--log-level",
    type=click.Choice(["critical", "error", "warning", "info", "debug"]),
    default="info",
    show_default=True,
)
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


def main() -> None:
    """Entry point of the ``esdc-api`` console script."""
    sys.exit(cli(prog_name="esdc-api"))
