"""Replaying recorded exchanges of a real deployment against a server, and judging the answers.

A transcript (:mod:`~esdc_api.replay.transcript`) holds requests sent to a real Danube Cloud
deployment and the answers it gave, in a world (:mod:`~esdc_api.replay.world`) recorded with
it. The replay (:mod:`~esdc_api.replay.run`) sends every request again to a target
(:mod:`~esdc_api.replay.target`) at its recorded moment, with the credentials its placeholders
name (:mod:`~esdc_api.replay.credentials`), compares each answer with the recorded one once
the values that change from run to run are normalized (:mod:`~esdc_api.replay.normalize`,
:mod:`~esdc_api.replay.compare`), and judges it identical, declared by the spec, or differing
(:mod:`~esdc_api.replay.verdict`). The report (:mod:`~esdc_api.replay.report`) counts them.

::

    from esdc_api.replay import Target, load_transcript, load_world, replay
    from esdc_api.spec import load_spec

    world = load_world(Path("../shared/reference/real-4.6/world.json"))
    report = replay(
        load_transcript(Path("../shared/reference/real-4.6/transcript.jsonl")),
        world,
        Target.reference(world, world.at),
        load_spec(),
    )
    print(report.table())

This package depends on httpx, the spec (:mod:`esdc_api.spec`, :mod:`esdc_api.deviations`)
and, for the in-process default only, the reference server's public surface
(``mockserver.create_app``, ``Settings``).
"""

from esdc_api.replay.errors import ReplayError as ReplayError
from esdc_api.replay.errors import TargetError as TargetError
from esdc_api.replay.errors import TranscriptError as TranscriptError
from esdc_api.replay.errors import WorldError as WorldError
from esdc_api.replay.report import Report as Report
from esdc_api.replay.report import Result as Result
from esdc_api.replay.run import replay as replay
from esdc_api.replay.run import seed_moment as seed_moment
from esdc_api.replay.target import Target as Target
from esdc_api.replay.transcript import Exchange as Exchange
from esdc_api.replay.transcript import load_transcript as load_transcript
from esdc_api.replay.verdict import Verdict as Verdict
from esdc_api.replay.world import World as World
from esdc_api.replay.world import load_world as load_world

__all__ = [
    "Exchange",
    "ReplayError",
    "Report",
    "Result",
    "Target",
    "TargetError",
    "TranscriptError",
    "Verdict",
    "World",
    "WorldError",
    "load_transcript",
    "load_world",
    "replay",
    "seed_moment",
]
