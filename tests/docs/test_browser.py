"""The built task page as a browser shows it, served by the reference server under /docs/.

Headless Chromium from Debian (``apt-get install -y chromium chromium-driver``) loads the page
over a loopback socket and dumps the DOM it rendered; no browser is downloaded.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from esdc_api.docs.examples import examples_of
from esdc_api.spec import load_spec
from mockserver import create_app
from tests.browser import CHROMIUM_FLAGS, chromium
from tests.conftest import LiveServer, frozen_settings, serve_in_thread
from tests.docs.conftest import Build
from tests.docs.page import Page
from tests.docs.test_task_page import ORIGINAL_SECTIONS


@pytest.fixture(scope="module")
def docs_server(built: Build) -> Iterator[LiveServer]:
    """The reference server with the built site under /docs/, on 127.0.0.1 and a free port."""
    yield from serve_in_thread(create_app(frozen_settings(docs_dir=built.output)))


def dump_dom(url: str, profile: Path) -> str:
    done = subprocess.run(
        [chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--dump-dom", url],
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_the_task_page_in_a_browser_shows_every_section_and_example(
    docs_server: LiveServer, tmp_path: Path
) -> None:
    dom = dump_dom(f"{docs_server.url}/docs/api/task.html", tmp_path / "profile")
    page = Page(dom)

    assert set(ORIGINAL_SECTIONS) <= set(page.headings.values())
    spec = load_spec()
    examples = [
        e for e in examples_of(spec)
        if {"task", "tasklog"} & set(spec["paths"][e.path][e.method.lower()]["tags"])
    ]  # fmt: skip
    assert len(page.examples) == len(examples)
    for example, text in zip(examples, page.examples.values(), strict=True):
        assert example.command in text
        assert f'"status": {example.status},' in text
        assert text.count("curl") >= 1
