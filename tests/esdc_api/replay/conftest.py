"""The recording of Danube Cloud 4.6, read once, and a replay against the fake server."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pytest

from esdc_api.replay import Exchange, Report, Target, World, load_transcript, load_world, replay
from esdc_api.spec import Spec, load_spec
from tests.conftest import REPO_ROOT
from tests.esdc_api.replay.fake import FakeServer, Rewrite

#: Where CI and every checkout keep the recording, next to the repository.
RECORDING = REPO_ROOT.parent / "shared" / "reference" / "real-4.6"


@pytest.fixture(scope="session")
def exchanges() -> list[Exchange]:
    return load_transcript(RECORDING / "transcript.jsonl")


@pytest.fixture(scope="session")
def world() -> World:
    return load_world(RECORDING / "world.json")


@pytest.fixture(scope="session")
def spec() -> Spec:
    return load_spec()


def by_n(exchanges: Sequence[Exchange], n: int) -> Exchange:
    return next(e for e in exchanges if e.n == n)


Replayer = Callable[..., tuple[Report, FakeServer]]


@pytest.fixture
def replay_fake(exchanges: list[Exchange], world: World, spec: Spec) -> Replayer:
    """``replay_fake(answers={n: rewrite}, ...)``: replay against a fake answering as recorded."""

    def run(
        answers: Mapping[int, Rewrite] | None = None,
        only: Sequence[Exchange] | None = None,
        control: bool = True,
        **kwargs: Any,
    ) -> tuple[Report, FakeServer]:
        chosen = list(only) if only is not None else exchanges
        fake = FakeServer(chosen, world, answers, control=control)
        return replay(chosen, world, Target.asgi(fake, "the fake"), spec, **kwargs), fake

    return run
