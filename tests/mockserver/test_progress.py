"""How a long build says how it goes: nothing for a short one, then a line now and then."""

from __future__ import annotations

import pytest

from mockserver import progress
from mockserver.progress import Progress
from mockserver.store import Store
from mockserver.worlds import DEMO_WORLD
from mockserver.worlds.install import install, read_world
from tests.conftest import DOC_TIME


class Ticking:
    """A monotonic clock that moves ``step`` seconds each time it is read."""

    def __init__(self, step: float) -> None:
        self.now, self.step = 0.0, step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


def test_a_job_that_ends_within_a_second_says_nothing() -> None:
    lines: list[str] = []
    steps = Progress(lines.append, "building the world", monotonic=Ticking(0.01))
    for done in range(50):
        steps("writing the log", done, 50)
    steps.finish()
    assert lines == []


def test_a_longer_job_says_its_stages_now_and_then_and_how_long_it_took() -> None:
    lines: list[str] = []
    steps = Progress(lines.append, "building the world", monotonic=Ticking(0.5))
    for done in range(0, 100, 10):
        steps("writing the log", done, 100)
    steps("indexing and counting the log")
    steps.finish()
    assert lines[0] == "building the world: writing the log 10% (10 of 100)"
    assert "building the world: indexing and counting the log" in lines
    assert len(lines) < 10
    assert lines[-1].startswith("building the world: done in ")


def test_a_build_tells_its_stages_in_order() -> None:
    """Issue 12 M3 and 13: ``--history 100000`` printed nothing for 13 s."""
    told: list[str] = []
    world = read_world(DEMO_WORLD, DOC_TIME)
    install(
        Store(), world, DOC_TIME, history_tasks=40_000, steps=lambda stage, *_: told.append(stage)
    )
    stages = list(dict.fromkeys(told))
    assert stages == [
        "drawing the history's tasks",
        "writing, sorting and indexing the log",
        "writing the tasks",
    ]
    assert told.count("drawing the history's tasks") >= 2  # it says how far the draws are


def test_the_server_says_how_its_build_goes_on_the_console(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from mockserver import create_app
    from tests.conftest import frozen_settings

    monkeypatch.setattr(progress, "QUIET_FOR", 0.0)
    lines: list[str] = []
    create_app(frozen_settings(history=1_000), say=lines.append)
    assert lines[0].startswith("building the world: drawing the history's tasks")
    assert lines[-1].startswith("building the world: done in ")
