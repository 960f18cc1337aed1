"""The Sphinx extension that writes the API docs from the spec and runs their ``es`` examples.

When the builder starts, every ``x-es-examples`` command runs against a fresh reference server
(:mod:`esdc_api.docs.examples`); a wrong answer stops the build there, naming the endpoint and
the command. The pages then place generated reST with directives:

``.. esdc-api-rules::``
    the API-wide rules, ``info.description`` of the spec, as sections
``.. esdc-servers::``
    the servers of the spec
``.. esdc-task-id::``
    the parts of a task id (the ``TaskId`` schema's ``x-parts``)
``.. esdc-permissions::``
    what each permission means (``x-permissions``) and which endpoints need it
``.. esdc-operations:: TAG [TAG ...]``
    one section per path whose operations carry one of the tags, with executed examples
``.. esdc-task-states::``
    the task lifecycle (``TaskState``)
``.. esdc-control-api::``
    the reference server's control API, from its own OpenAPI document
``.. esdc-es-usage::``
    what ``es --help`` prints
``.. esdc-deviations::`` and ``.. esdc-known-defects::``
    where the reference server departs from real deployments on purpose (``x-deviations``),
    and the known defects of Danube Cloud versions (``x-known-defects``)
``.. esdc-replay-figure::``
    the figure of the replay of the recorded 4.6 answers, from the directive's options
    (``:exchanges:``, ``:identical:``, ...), which ``tests/test_replay.py`` keeps true

The generated reST of each directive is also written next to the doctrees
(``<doctrees>/esdc-generated/``), so that a warning points at a line one can read.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

from docutils.parsers.rst import directives
from docutils.statemachine import StringList
from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.environment import BuildEnvironment
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

from esdc_api.docs import fidelity, lifecycle, operations
from esdc_api.docs.errors import SpecGap
from esdc_api.docs.examples import ExampleRun, run_examples
from esdc_api.docs.markdown import inline_to_rst, slug, to_rst
from esdc_api.spec import CONTROL_SPEC_ROOT, Spec, default_spec_path, load_spec
from esdc_api.spec import operations as all_operations

logger = logging.getLogger(__name__)

#: The documentation clock: the spec's examples describe the demo world at this moment.
DOC_TIME = "2026-11-02T12:00:00+00:00"
#: Labels of the overview's sections that the ✓/✗ substitutions link to (their headings in
#: the spec's info.description, as :func:`esdc_api.docs.markdown.slug` spells them).
DC_LABEL = "api-datacenters"
ASYNC_LABEL = "api-synchronous-and-asynchronous-calls"


@dataclasses.dataclass
class DocsContext:
    """What the directives of one build read: the specs and the examples' runs."""

    spec: Spec
    control_spec: Spec
    runs: list[ExampleRun]
    rendered: set[str] = dataclasses.field(default_factory=set)


def _context(env: BuildEnvironment) -> DocsContext:
    context: DocsContext = env.esdc_docs  # type: ignore[attr-defined]
    return context


def spec_path(config: Config) -> Path:
    return Path(config.esdc_spec) if config.esdc_spec else default_spec_path()


def _add_substitutions(app: Sphinx, config: Config) -> None:
    """The Danube Cloud docs' substitutions, with a link per permission of the spec."""
    spec = load_spec(spec_path(config))
    used = {
        str(op["x-permission"]) for _p, _m, op in all_operations(spec) if op.get("x-permission")
    }
    defined = spec.get("x-permissions", {})
    if missing := sorted(used - set(defined)):
        raise SpecGap(
            f"x-permission {', '.join(missing)} is used but not described in x-permissions "
            "at the spec's root; describe it there"
        )
    lines = [
        "",
        ".. |es example| replace:: :doc:`es example </es>`",
        ".. |yes| unicode:: U+2713",
        ".. |no| unicode:: U+2717",
        f".. |dc-yes| replace:: :ref:`✓ yes <{DC_LABEL}>`",
        f".. |dc-no| replace:: :ref:`✗ no <{DC_LABEL}>`",
        f".. |async-yes| replace:: :ref:`✓ yes <{ASYNC_LABEL}>`",
        f".. |async-no| replace:: :ref:`✗ no <{ASYNC_LABEL}>`",
        *(f".. |{name}| replace:: :ref:`{name} <perm-{slug(name)}>`" for name in defined),
    ]
    config.rst_epilog = (config.rst_epilog or "") + "\n".join(lines) + "\n"


def _run_examples(app: Sphinx) -> None:
    config = app.config
    path = spec_path(config)
    spec = load_spec(path)
    control = load_spec(
        Path(config.esdc_control_spec) if config.esdc_control_spec else CONTROL_SPEC_ROOT
    )
    logger.info(f"esdc: running the es examples of {path} at {config.esdc_doc_time}")
    runs = run_examples(
        spec,
        start=datetime.fromisoformat(config.esdc_doc_time),
        progress=lambda line: logger.info(line),
    )
    app.env.esdc_docs = DocsContext(spec, control, runs)  # type: ignore[attr-defined]


def _check_coverage(app: Sphinx, env: BuildEnvironment) -> None:
    context = _context(env)
    for path, method, _operation in all_operations(context.spec):
        if f"{method.upper()} {path}" not in context.rendered:
            logger.warning(
                f"esdc: {method.upper()} {path} is on no page; "
                "add one of its tags to an esdc-operations directive"
            )


class _Generated(SphinxDirective):
    """A directive whose reST is generated, then read as if it stood in the page."""

    has_content = False

    def generate(self, context: DocsContext) -> str:
        raise NotImplementedError

    def run(self) -> list[Any]:
        self.env.note_reread()  # the spec and the examples may change between builds
        text = self.generate(_context(self.env))
        out = Path(self.env.doctreedir) / "esdc-generated" / f"{self.env.docname}.{self.name}.rst"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
        self.state_machine.insert_input(StringList(text.splitlines(), str(out)), str(out))
        return []


class ApiRules(_Generated):
    option_spec: ClassVar[dict[str, Any]] = {"underlines": directives.unchanged}

    def generate(self, context: DocsContext) -> str:
        underlines = self.options.get("underlines", "-~^")
        return to_rst(
            context.spec["info"].get("description", ""), underlines=underlines, label_prefix="api"
        )


class Servers(_Generated):
    def generate(self, context: DocsContext) -> str:
        lines = []
        for server in context.spec.get("servers", []):
            lines.append(f"* ``{server['url']}``: {inline_to_rst(server.get('description', ''))}")
            for name, variable in server.get("variables", {}).items():
                meaning = inline_to_rst(variable.get("description", ""))
                example = variable.get("default", "")
                lines.append(f"  (``{{{name}}}``: {meaning}, for example ``{example}``)")
        return "\n".join(lines) + "\n"


class TaskIdParts(_Generated):
    def generate(self, context: DocsContext) -> str:
        schema = lifecycle.find_schema(context.spec, "TaskId", "x-parts")
        lines = [".. list-table:: The parts of a task id", "   :header-rows: 1", "",
                 "   * - Part", "     - Meaning"]  # fmt: skip
        for part, meaning in schema.get("x-parts", {}).items():
            lines += [f"   * - ``{part}``", f"     - {inline_to_rst(str(meaning))}"]
        lines += [
            "",
            f"Pattern: ``{schema.get('pattern', '')}``; example: ``{schema.get('example', '')}``.",
            "",
        ]
        return "\n".join(lines)


class Permissions(_Generated):
    def generate(self, context: DocsContext) -> str:
        lines = []
        for name, meaning in context.spec.get("x-permissions", {}).items():
            users = [
                f":http:{method}:`{operations.route(path)}`"
                for path, method, op in all_operations(context.spec)
                if op.get("x-permission") == name
            ]
            lines += [f".. _perm-{slug(name)}:", "", f"``{name}``", f"   {to_rst(meaning).strip()}"]
            lines += [f"   Needed by {', '.join(users)}." if users else "", ""]
        return "\n".join(lines)


class Operations(_Generated):
    required_arguments = 1
    optional_arguments = 20

    def generate(self, context: DocsContext) -> str:
        paths = operations.paths_for_tags(context.spec, self.arguments)
        if not paths:
            raise self.error(f"no operation of the spec has the tags {self.arguments}")
        for path in paths:
            for method in context.spec["paths"][path]:
                if method in {"get", "put", "post", "delete", "patch", "options", "head", "trace"}:
                    context.rendered.add(f"{method.upper()} {path}")
        return operations.sections(context.spec, paths, context.runs, prefer=True)


class TaskStates(_Generated):
    def generate(self, context: DocsContext) -> str:
        return lifecycle.lifecycle_rst(context.spec)


class ControlApi(_Generated):
    def generate(self, context: DocsContext) -> str:
        spec = context.control_spec
        base = "/" + spec["servers"][0]["url"].split("://", 1)[-1].split("/", 1)[-1].strip("/")
        intro = to_rst(spec["info"].get("description", ""))
        return (
            intro + "\n" + operations.sections(spec, list(spec["paths"]), prefix=base.rstrip("/"))
        )


class Deviations(_Generated):
    def generate(self, context: DocsContext) -> str:
        return fidelity.deviations_rst(context.spec)


class KnownDefects(_Generated):
    def generate(self, context: DocsContext) -> str:
        return fidelity.known_defects_rst(context.spec)


class ReplayFigure(_Generated):
    option_spec: ClassVar[dict[str, Any]] = {
        name: directives.unchanged for name in fidelity.FIGURE_OPTIONS
    }

    def generate(self, context: DocsContext) -> str:
        try:
            return fidelity.figure_rst(fidelity.parse_figure(self.options), context.spec)
        except ValueError as exc:
            raise self.error(f"esdc-replay-figure: {exc}") from exc


class EsUsage(_Generated):
    def generate(self, context: DocsContext) -> str:
        from esdc_api.es.cli import USAGE

        return "::\n\n" + "\n".join(f"    {line}".rstrip() for line in USAGE.splitlines()) + "\n"


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_config_value("esdc_spec", "", "env", [str])
    app.add_config_value("esdc_control_spec", "", "env", [str])
    app.add_config_value("esdc_doc_time", DOC_TIME, "env", [str])
    app.connect("config-inited", _add_substitutions)
    app.connect("builder-inited", _run_examples)
    app.connect("env-check-consistency", _check_coverage)
    for name, directive in {
        "esdc-api-rules": ApiRules,
        "esdc-servers": Servers,
        "esdc-task-id": TaskIdParts,
        "esdc-permissions": Permissions,
        "esdc-operations": Operations,
        "esdc-task-states": TaskStates,
        "esdc-control-api": ControlApi,
        "esdc-es-usage": EsUsage,
        "esdc-deviations": Deviations,
        "esdc-known-defects": KnownDefects,
        "esdc-replay-figure": ReplayFigure,
    }.items():
        app.add_directive(name, directive)
    return {"version": "1", "parallel_read_safe": False, "parallel_write_safe": True}
