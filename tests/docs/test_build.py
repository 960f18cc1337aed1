"""The build itself: warnings are errors, and it reports each example it runs. (How long it
takes is measured by the benchmarks, ``python -m bench``, not asserted here.)"""

from __future__ import annotations

import html
import re

from esdc_api.docs.examples import examples_of
from esdc_api.resources import data_dir
from esdc_api.spec import load_spec
from tests.docs.conftest import Build


def test_the_build_passes_with_warnings_as_errors(built: Build) -> None:
    assert "build succeeded" in built.stdout
    assert "warning" not in built.stderr.lower()


def test_docs_command_writes_the_site_into_the_given_folder(built: Build) -> None:
    for page in ("index.html", "overview.html", "es.html", "perm.html", "lifecycle.html",
                 "api/task.html", "api/accounts.html", "clients.html", "control.html",
                 "worlds.html", "fidelity.html", "http-routingtable.html", "search.html",
                 "genindex.html"):  # fmt: skip
        assert (built.output / page).is_file(), page
    assert f"wrote {built.output / 'index.html'}" in built.stderr


def test_the_build_prints_a_line_per_executed_example(built: Build) -> None:
    examples = examples_of(load_spec())
    lines = [line for line in built.stdout.splitlines() if line.startswith("es example ")]
    assert len(lines) == len(examples)
    for line, example in zip(lines, examples, strict=True):
        assert f"{example.command}`" in line
        assert line.endswith(f"-> {example.status}")


def test_the_clients_page_gives_the_commands_and_the_compiled_example(built: Build) -> None:
    page = html.unescape(re.sub(r"<[^>]+>", "", built.page("clients.html")))

    assert "/api/ui/" in page and "Swagger UI" in page
    assert "npx openapi-typescript@7.13.0 http://127.0.0.1:8000/api/openapi.json" in page
    assert "openapi-python-client generate --url http://127.0.0.1:8000/api/openapi.json" in page
    example = (data_dir() / "docs" / "clients" / "wait-for-task.ts").read_text()
    assert example.strip() in page
