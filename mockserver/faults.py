"""Fault rules: the slowness and the failures real deployments show, on purpose.

A rule says what happens (``fault``), to which requests (some operations, or all; one user,
or anyone) and how often (with a ``probability``, for the next ``times`` requests it applies
to, or both). What each fault does, and where in the pipeline (:mod:`mockserver.middleware`):

``throttle``
    429 with ``Retry-After``, where the real throttle answers (after authentication): a
    throttle that bites early.
``delay``
    the request waits ``delay_ms`` (or a random time up to ``delay_max_ms``) on the world's
    clock, or in real time (``clock: real``), before the server acts on it
    (:func:`mockserver.holds.hold`). Every delay rule that fires adds its wait.
``drop``
    the connection closes without an answer: before the server acts (``stage: request``) or
    after it has (``stage: response``: the cancel went through, its answer got lost).
``system_update``
    503 ``System update in progress`` to every user who is not a SuperAdmin, after the
    datacenter and permission checks, as a deployment answers while it updates.
``result_backend``
    reading a task's state fails as when Celery's Redis is in trouble: 504 (``timeout``), 502
    (``unreachable``) or 500 (``error``), on status, state, done and cancel. A cancel's revoke
    goes through before its read fails, as on real deployments.

Rules are kept in the world's store, so that every process serving one database file
applies the same ones and counts ``times`` together, and a new world (a reset, ``PUT
/control/world/``) starts without any. ``PUT /control/failures/`` is a view onto two of them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Iterable
from dataclasses import asdict, dataclass, replace
from http import HTTPStatus
from random import Random
from typing import Any, Protocol

from mockserver.accounts import User
from mockserver.errors import ApiError
from mockserver.store import Store

KINDS = ("delay", "drop", "throttle", "system_update", "result_backend")
#: The operations that read a task's state from the result backend.
BACKEND_READS = ("taskStatus", "taskState", "taskDone", "taskCancel")
BACKENDS = ("timeout", "unreachable", "error")
#: The ids of the rules ``/control/failures/`` shows and sets.
SYSTEM_UPDATE, RESULT_BACKEND = "failures-system-update", "failures-result-backend"
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
_FIELDS = {
    "id", "fault", "operations", "user", "probability", "times", "delay_ms", "delay_max_ms",
    "clock", "stage", "backend", "retry_after",
}  # fmt: skip


class FaultError(ApiError):
    """A rule the control API cannot take; the message names the field and what to write."""

    status = HTTPStatus.BAD_REQUEST


@dataclass(frozen=True)
class Rule:
    """One fault rule (see the module's docstring).

    :param operations: the operationIds it applies to; ``None`` for every operation its fault
        applies to.
    :param times: how many more requests it fires for; ``None`` for all.
    :param fired: how many it has fired for.
    """

    id: str
    fault: str
    operations: tuple[str, ...] | None = None
    user: str | None = None
    probability: float = 1.0
    times: int | None = None
    delay_ms: float = 0.0
    delay_max_ms: float | None = None
    clock: str = "server"
    stage: str = "request"
    backend: str = "timeout"
    retry_after: int = 60
    fired: int = 0

    def applies(self, operation: str, user: User | None) -> bool:
        if self.operations is not None and operation not in self.operations:
            return False
        if self.fault == "result_backend" and operation not in BACKEND_READS:
            return False
        if self.fault == "system_update" and (user is None or user.is_staff):
            return False
        return self.user is None or (user is not None and user.username == self.user)

    def as_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "id": self.id,
            "fault": self.fault,
            "operations": None if self.operations is None else list(self.operations),
            "user": self.user,
            "probability": self.probability,
            "times": self.times,
            "fired": self.fired,
        }
        if self.fault == "delay":
            doc |= {"delay_ms": self.delay_ms, "delay_max_ms": self.delay_max_ms}
            doc["clock"] = self.clock
        elif self.fault == "drop":
            doc["stage"] = self.stage
        elif self.fault == "result_backend":
            doc["backend"] = self.backend
        elif self.fault == "throttle":
            doc["retry_after"] = self.retry_after
        return doc


def rule_from_json(
    doc: Any, *, rule_id: str, operations: Collection[str], users: Collection[str]
) -> Rule:
    """The rule ``doc`` describes, checked against the world's operations and users.

    :raises FaultError: naming the field that is wrong and what it may be.
    """
    if not isinstance(doc, dict):
        raise FaultError(f"a fault rule is an object, not {doc!r}")
    if unknown := sorted(set(doc) - _FIELDS - {"fired"}):
        raise FaultError(f"{unknown[0]}: no such field; a rule has {', '.join(sorted(_FIELDS))}")
    fault = doc.get("fault")
    if fault not in KINDS:
        raise FaultError(f"fault: {fault!r} is not a fault; the faults are {', '.join(KINDS)}")
    given_id = doc.get("id", rule_id)
    if not isinstance(given_id, str) or not _ID.match(given_id):
        raise FaultError(f"id: {given_id!r} is not a rule id (letters, digits, '.', '_', '-')")
    names = doc.get("operations")
    if names is not None:
        if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
            raise FaultError("operations: a list of operationIds, or null for all")
        allowed = BACKEND_READS if fault == "result_backend" else sorted(operations)
        if wrong := [n for n in names if n not in allowed]:
            raise FaultError(
                f"operations: {wrong[0]!r} is not an operation a {fault} fault applies to; "
                f"those are {', '.join(allowed)}"
            )
    user = doc.get("user")
    if user is not None and user not in users:
        raise FaultError(f"user: no user {user!r}; the users are {', '.join(sorted(users))}")
    rule = Rule(
        id=given_id,
        fault=fault,
        operations=None if names is None else tuple(names),
        user=user,
        probability=_number(doc, "probability", 1.0, 0, 1),
        times=None if doc.get("times") is None else int(_number(doc, "times", 1, 0, 10**9)),
        delay_ms=_number(doc, "delay_ms", 0.0, 0, 86_400_000),
        delay_max_ms=None
        if doc.get("delay_max_ms") is None
        else _number(doc, "delay_max_ms", 0.0, 0, 86_400_000),
        clock=_choice(doc, "clock", ("server", "real")),
        stage=_choice(doc, "stage", ("request", "response")),
        backend=_choice(doc, "backend", BACKENDS),
        retry_after=int(_number(doc, "retry_after", 60, 0, 86_400)),
        fired=int(doc.get("fired", 0)),
    )
    if rule.fault == "delay" and rule.delay_ms <= 0 and not rule.delay_max_ms:
        raise FaultError("delay_ms: a delay rule needs how long to hold requests (> 0)")
    if rule.delay_max_ms is not None and rule.delay_max_ms < rule.delay_ms:
        raise FaultError(
            f"delay_max_ms: {rule.delay_max_ms:g} is less than delay_ms {rule.delay_ms:g}; "
            "a random delay lies between the two"
        )
    return rule


def _number(doc: dict[str, Any], name: str, default: float, low: float, high: float) -> float:
    value = doc.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise FaultError(f"{name}: {value!r} is not a number from {low:g} to {high:g}")
    return float(value)


def _choice(doc: dict[str, Any], name: str, choices: tuple[str, ...]) -> str:
    value = doc.get(name, choices[0])
    if value not in choices:
        raise FaultError(f"{name}: {value!r} is not one of {', '.join(choices)}")
    return str(value)


class HasStore(Protocol):
    store: Store


class Faults:
    """The fault rules of one world, kept in its store.

    :param store: the world's store, or where to find it: a deployment whose store a
        reset replaces (the rules are then read from the new one).
    :param rng: what probabilities and random delays are drawn from (seeded: the same
        requests in the same order meet the same faults).
    """

    def __init__(self, store: Store | HasStore, *, rng: Random | None = None) -> None:
        self._holder = store
        self.rng = rng or Random(0)
        self.rules: list[Rule] = []
        #: How many requests delays hold back now.
        self.held = 0
        self._version: str | None = "unread"
        self.sync()

    def __repr__(self) -> str:
        return f"Faults({[rule.id for rule in self.rules]})"

    @property
    def store(self) -> Store:
        holder = self._holder
        return holder if isinstance(holder, Store) else holder.store

    def sync(self) -> None:
        """Read the rules again if another process, or a new world, changed them."""
        version = self.store.config_version
        if version == self._version:
            return
        raw = json.loads(self.store.get_meta("faults") or "[]")
        self.rules = [Rule(**{**doc, "operations": _tuple(doc["operations"])}) for doc in raw]
        self._version = version

    def _save(self, rules: list[Rule]) -> None:
        with self.store.transaction():
            self.store.set_meta("faults", json.dumps([asdict(rule) for rule in rules]))
            self.store.config_changed(answers=False)
        self.rules = rules
        self._version = self.store.config_version

    def next_id(self) -> str:
        taken = {rule.id for rule in self.rules}
        return next(f"rule-{n}" for n in range(1, len(taken) + 2) if f"rule-{n}" not in taken)

    def add(self, rule: Rule) -> Rule:
        """Add ``rule``, or replace the rule of the same id."""
        with self.store.transaction():
            self.sync()
            kept = [r for r in self.rules if r.id != rule.id]
            self._save([*kept, rule])
        return rule

    def replace_all(self, rules: Iterable[Rule]) -> None:
        self._save(list(rules))

    def remove(self, rule_id: str) -> Rule | None:
        with self.store.transaction():
            self.sync()
            found = next((r for r in self.rules if r.id == rule_id), None)
            if found is not None:
                self._save([r for r in self.rules if r.id != rule_id])
        return found

    def get(self, rule_id: str) -> Rule | None:
        return next((r for r in self.rules if r.id == rule_id), None)

    def applying(self, operation: str, user: User | None) -> list[Rule]:
        """The rules that may fire for a request to ``operation`` by ``user``."""
        return [rule for rule in self.rules if rule.times != 0 and rule.applies(operation, user)]

    def fire(self, candidates: list[Rule], fault: str) -> list[Rule]:
        """Roll each of ``candidates`` of kind ``fault``: those that fire, counted (a rule
        whose ``times`` ran out stays, with ``times`` 0, and fires no more). Nothing is
        written when none fires."""
        fired = [
            rule
            for rule in candidates
            if rule.fault == fault
            and (rule.probability >= 1 or self.rng.random() < rule.probability)
        ]
        if not fired:
            return []
        with self.store.transaction():
            self.sync()
            now = {rule.id: rule for rule in self.rules}
            counted: list[Rule] = []
            for rule in fired:
                current = now.get(rule.id)
                if current is None or current.times == 0:
                    continue  # spent meanwhile, by another request or process
                times = None if current.times is None else current.times - 1
                now[rule.id] = replace(current, times=times, fired=current.fired + 1)
                counted.append(now[rule.id])
            self._save(list(now.values()))
        return counted

    def delay_of(self, rule: Rule) -> float:
        """How long (in seconds) a delay rule holds this request."""
        if rule.delay_max_ms is None:
            return rule.delay_ms / 1000
        return self.rng.uniform(rule.delay_ms, rule.delay_max_ms) / 1000


def _tuple(value: Any) -> tuple[str, ...] | None:
    return None if value is None else tuple(value)


class Met:
    """The fault rules one request may meet, fired stage by stage as the pipeline reaches
    each (what fired is noted for the journal)."""

    def __init__(self, faults: Faults, operation: str, user: User | None, note: Any) -> None:
        self.faults = faults
        self.rules = faults.applying(operation, user)
        self.note = note

    def fire(self, fault: str, *, stage: str | None = None) -> list[Rule]:
        candidates = [r for r in self.rules if stage is None or r.stage == stage]
        if not candidates:
            return []
        fired = self.faults.fire(candidates, fault)
        if fired and self.note is not None:
            self.note.shaped = ",".join(filter(None, [self.note.shaped, *(r.id for r in fired)]))
        return fired

    def delay(self, rules: list[Rule]) -> float:
        """The seconds the delay rules that fired hold the request, together."""
        return sum(self.faults.delay_of(rule) for rule in rules)

    @staticmethod
    def real(rules: list[Rule]) -> bool:
        """Whether they hold it in real time (one rule in real time is enough)."""
        return any(rule.clock == "real" for rule in rules)
