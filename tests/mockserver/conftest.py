from __future__ import annotations

from random import Random

import pytest

from mockserver.accounts import Dc, User
from mockserver.clock import ControlledClock, fixed_clock
from mockserver.deployment import Deployment
from mockserver.store import Store
from mockserver.worlds.install import install_demo
from tests.conftest import DOC_TIME


@pytest.fixture
def fake_clock() -> ControlledClock:
    return fixed_clock(DOC_TIME)


@pytest.fixture
def deployment(fake_clock: ControlledClock) -> Deployment:
    """The demo world at the documentation clock, in an in-memory SQLite store."""
    store = Store(":memory:")
    install_demo(store, fake_clock.now())
    return Deployment(store, fake_clock, rng=Random(1))


def user(deployment: Deployment, name: str) -> User:
    return next(u for u in deployment.users.values() if u.username == name)


def dc(deployment: Deployment, name: str) -> Dc:
    return next(d for d in deployment.dcs.values() if d.name == name)
