"""The reference server answers as Danube Cloud 4.6 answered: its recording, replayed.

Danube Cloud 4.6 was run for real and its answers to every task endpoint recorded next to the
repository, in ``../shared/reference/real-4.6/`` (see its README.md). The whole transcript is
replayed here against the reference server in-process, with the recorded world loaded and the
clock moved to each exchange's moment (:mod:`esdc_api.replay`). Every exchange must be
identical or declared by the spec, most of them identical, and the docs must state the figure
this replay measures.
"""

from __future__ import annotations

import pytest

from esdc_api.docs.fidelity import figure_in
from esdc_api.replay import Report, Target, load_transcript, load_world, replay
from esdc_api.spec import load_spec
from tests.conftest import REPO_ROOT

RECORDING = REPO_ROOT.parent / "shared" / "reference" / "real-4.6"
FIDELITY_PAGE = REPO_ROOT / "docs" / "fidelity.rst"
#: The share of the recorded exchanges that must be identical (issue 10).
IDENTICAL_AT_LEAST = 0.95


@pytest.fixture(scope="module")
def report() -> Report:
    world = load_world(RECORDING / "world.json")
    assert world.at is not None
    return replay(
        load_transcript(RECORDING / "transcript.jsonl"),
        world,
        Target.reference(world, world.at),
        load_spec(),
        transcript="the 4.6 recording",
    )


def test_every_recorded_exchange_is_answered_as_recorded_or_as_the_spec_declares(
    report: Report,
) -> None:
    differing = report.differing()
    lines = [f"n={r.exchange.n} {r.exchange.note}: {r.first_difference()}" for r in differing]
    assert not differing, f"{len(differing)} exchanges differ from 4.6:\n" + "\n".join(lines)


def test_at_least_95_percent_of_the_recorded_exchanges_are_identical(report: Report) -> None:
    tally, share = report.tally, report.identical_share()
    assert share >= IDENTICAL_AT_LEAST, (
        f"{tally.identical} of {tally.exchanges} identical ({share:.1%}), "
        f"{tally.declared} declared by the spec: {tally.declared_by}"
    )


def test_the_docs_state_the_figure_this_replay_measures(report: Report) -> None:
    stated = figure_in(FIDELITY_PAGE.read_text()).counts()
    measured = report.tally.as_json()
    assert stated == measured, (
        f"docs/fidelity.rst states {stated}, the replay measures {measured}: update the "
        "esdc-replay-figure options there"
    )
