"""The ``esdc-api`` command line: one group, a subcommand per job.

Every option can also be set from an ``ESDC_``-prefixed environment variable (``ESDC_PORT``,
``ESDC_SPEC``, ...); an option on the command line wins over the environment, which wins over
the default. Heavy imports happen inside the subcommand that needs them.
"""

from __future__ import annotations

import sys
from pathlib import Path

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


def main() -> None:
    """Entry point of the ``esdc-api`` console script."""
    sys.exit(cli(prog_name="esdc-api"))
