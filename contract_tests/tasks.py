"""Tasks for the named checks to look at.

On a reference server the suite makes its own, with a chosen fate, through the control API;
on a deployment it finds the user's own (running ones from the task list, finished ones from
the task log) and only reads them.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from contract_tests.client import Client
from contract_tests.errors import ContractViolation
from contract_tests.run import Run
from contract_tests.target import ReferenceControl

#: At most this many of a deployment's tasks are read by one check, to spare its throttle.
SAMPLE = 6


class Tasks:
    """The user's tasks, made or found.

    :param user: the API as the user whose tasks they are.
    """

    def __init__(self, run: Run, user: Client) -> None:
        self.run = run
        self.user = user
        self.control: ReferenceControl | None = run.control
        self._names = itertools.count(1)
        self._username: str | None = None

    def __repr__(self) -> str:
        return f"Tasks({'made' if self.control else 'found'})"

    # -- a reference server: made to order --------------------------------------------------

    def _reference(self) -> ReferenceControl:
        if self.control is None:
            pytest.skip(
                "needs a reference server to make tasks with a chosen fate (--esdc-reference)"
            )
        return self.control

    def username(self, identity: str = "user") -> str:
        control = self._reference()
        name = control.username(self.run.keys[identity])
        if name is None:
            pytest.skip(f"the {identity}'s key belongs to no account of the reference server")
        return name

    def object_name(self) -> str:
        """A server name no other task uses, so that the log can be filtered down to ours."""
        return f"esdc-check-{self.run.settings.seed}-{next(self._names)}.example.com"

    def make(self, identity: str = "user", **fate: Any) -> str:
        """A new task created by ``identity`` on an object it owns; ``fate`` as the control
        API's NewTask (``queued``, ``runs``, ``outcome``, ...)."""
        control = self._reference()
        name = self.username(identity)
        fate.setdefault("object", {"type": "vm", "name": self.object_name()})
        return str(control.create_task(name, owner=name, **fate)["task_id"])

    def advance(self, seconds: float) -> None:
        self._reference().advance(seconds)

    # -- any target: found ----------------------------------------------------------------

    def running(self, client: Client | None = None) -> list[str]:
        """The ids ``client`` (the user by default) lists as running."""
        exchange = (client or self.user).get("/task/")
        body = exchange.json()
        if exchange.status != 200 or not isinstance(body, list):
            raise ContractViolation("the task list could not be read", exchange)
        return [str(task_id) for task_id in body]

    def logged(self, client: Client | None = None) -> list[str]:
        """Ids of tasks in the newest page of the log ``client`` (the user by default) sees."""
        exchange = (client or self.user).get("/task/log/", page=1)
        body = exchange.json()
        if exchange.status != 200 or not isinstance(body, dict):
            raise ContractViolation("the task log could not be read", exchange)
        return list(dict.fromkeys(str(entry["task"]) for entry in body.get("results", [])))

    def sample(self) -> list[str]:
        """A few of the user's tasks in as many states as the target offers (not the dummy
        ids of synchronous calls, which are logged but have no state)."""
        found = list(dict.fromkeys([*self.running()[:SAMPLE], *self.logged()]))
        return [task for task in found if not self.run.facts.is_dummy(task)][: 2 * SAMPLE]
