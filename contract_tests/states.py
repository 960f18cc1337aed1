"""Task states as the run observed them, and the rule that they never go backwards.

Every answer of ``/status/``, ``/state/``, ``/done/`` and ``/cancel/`` that carries a task's
state is an observation, whoever sent it (a named check or schemathesis). A task moves from
``PENDING`` to ``STARTED`` to one final state and stays there, except that its result expires
:data:`~contract_tests.facts.RESULT_EXPIRES_SECONDS` after it ended, when it reads ``PENDING``
again. Before its end it may step from ``STARTED`` back to ``PENDING``: real deployments show
a retried task as ``PENDING``, and a task whose callback is queued reads as that callback
(``PENDING``, ``STARTED``, then its end). :func:`backward_steps` finds the observations that
break the rule.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from contract_tests.facts import FINAL_STATES, RESULT_EXPIRES_SECONDS

_RANK = {"PENDING": 0, "STARTED": 1}
_sequence = itertools.count()


@dataclass(frozen=True)
class Observation:
    """What one answer said about a task.

    :param states: the states the answer allows; ``/done/`` answering 201 allows PENDING and
        STARTED.
    :param elapsed: real seconds since the run started, when the answer came.
    :param server_time: the deployment's time of the answer, if known.
    :param evidence: the request and answer, for the report.
    """

    task_id: str
    states: frozenset[str]
    elapsed: float
    server_time: datetime | None
    evidence: str
    order: int = 0

    @classmethod
    def of(
        cls,
        task_id: str,
        states: Iterable[str],
        *,
        elapsed: float,
        server_time: datetime | None,
        evidence: str,
    ) -> Observation:
        return cls(task_id, frozenset(states), elapsed, server_time, evidence, next(_sequence))

    @property
    def is_final(self) -> bool:
        return bool(self.states) and self.states <= FINAL_STATES

    @property
    def lowest(self) -> int:
        """0 pending, 1 started, 2 final: the earliest state the answer allows."""
        return min(_RANK.get(state, 2) for state in self.states)

    @property
    def highest(self) -> int:
        """The latest state the answer allows, ranked as :attr:`lowest`."""
        return max(_RANK.get(state, 2) for state in self.states)

    def label(self) -> str:
        return "/".join(sorted(self.states))


@dataclass(frozen=True)
class BackwardStep:
    """Two observations of one task, the later one in an earlier state."""

    before: Observation
    after: Observation

    def describe(self) -> str:
        return (
            f"task {self.after.task_id} read {self.before.label()} and later "
            f"{self.after.label()}:\n    first:  {self.before.evidence}\n"
            f"    then:   {self.after.evidence}"
        )


EndLookup = Callable[[str], datetime | None]


def _could_have_expired(final: Observation, after: Observation, end_of: EndLookup) -> bool:
    """Whether ``after``, not final, may be the PENDING of ``final``'s expired result."""
    if "PENDING" not in after.states:
        return False
    ended = end_of(final.task_id)
    if ended is None or after.server_time is None:
        return True  # nothing tells when it ended: give the deployment the benefit of it
    expiry = timedelta(seconds=RESULT_EXPIRES_SECONDS)
    return after.server_time >= ended + expiry - timedelta(seconds=2)


def backward_steps(
    observations: Iterable[Observation], end_of: EndLookup = lambda _task: None
) -> list[BackwardStep]:
    """The observations of a task that show it back in an earlier state after it ended.

    Before its end a task may read PENDING after STARTED (a retry, or the callback phase of
    a task whose callback is still queued), so only an end state going back counts: to
    another end state, or to PENDING or STARTED before its result can have expired.

    :param end_of: when a task ended, if known (from the control API or the task log); it
        decides whether a final task reading PENDING again had expired.
    """
    by_task: defaultdict[str, list[Observation]] = defaultdict(list)
    for observation in sorted(observations, key=lambda o: o.order):
        by_task[observation.task_id].append(observation)
    steps = []
    for history in by_task.values():
        final: Observation | None = None  # the end state the task surely reached
        for observation in history:
            if final is None:
                if observation.is_final:
                    final = observation
            elif observation.is_final:
                if observation.states != final.states:
                    steps.append(BackwardStep(final, observation))
            elif _could_have_expired(final, observation, end_of):
                final = None  # the task is unknown again: a new life
            else:
                steps.append(BackwardStep(final, observation))
    return steps
