"""One replay: every exchange of a transcript, in order, at its recorded moment.

Against a target with a control API (a reference server):

1. the clock stops; the world is loaded with the clock at its seed (``PUT /control/world/``,
   unless the target was started with it); the throttle counts on the server's clock; the
   mgmt worker runs as the first exchange says (``worker``);
2. before each exchange, its ``setup_before`` actions are done at their own moments (the
   worker started, a task's message published), the clock is set to ``seed + t``, and the
   throttle's counters are cleared where the recording cleared them (``throttle_reset``), and
   at the start of a group that keeps its history (the throttling group, as the recording's
   README says to replay it);
3. the request goes out as recorded, its credential placeholders filled
   (:mod:`~esdc_api.replay.credentials`), and the answer is compared
   (:mod:`~esdc_api.replay.compare`) and judged (:mod:`~esdc_api.replay.verdict`).

A target without one gets the requests at their recorded pace and nothing else; the report
then names the exchanges whose answers depend on what was not controlled
(:mod:`~esdc_api.replay.timing`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from esdc_api.replay.answer import Answer
from esdc_api.replay.compare import compare
from esdc_api.replay.credentials import Credentials, kind_of
from esdc_api.replay.errors import WorldError
from esdc_api.replay.normalize import Normalizer
from esdc_api.replay.report import Report, Result
from esdc_api.replay.routes import Route, Routes
from esdc_api.replay.target import Target
from esdc_api.replay.timing import dependencies, rates_of
from esdc_api.replay.transcript import Exchange
from esdc_api.replay.verdict import Judge
from esdc_api.replay.world import World
from esdc_api.spec import Spec

Progress = Callable[[Result], None]
#: Waits until the given number of seconds after the first exchange's recorded moment.
Pace = Callable[[float], Awaitable[None]]


def seed_moment(world: World, at: datetime | None = None) -> datetime:
    """The moment the transcript's ``t`` counts from: ``at``, else the world's own."""
    moment = at or world.at
    if moment is None:
        raise WorldError(world.path, "gives no moment (seeded_at or at); pass the one to use")
    return moment


def replay(
    exchanges: Sequence[Exchange], world: World, target: Target, spec: Spec, *,
    transcript: str = "the transcript", at: datetime | None = None,
    progress: Progress | None = None, pace: Pace | None = None,
) -> Report:  # fmt: skip
    """Replay ``exchanges`` against ``target``, then close it; see the module's description.

    :param at: the moment ``t = 0`` of the transcript; the world's seed by default.
    :param progress: called with each exchange's result as it comes.
    :param pace: how to wait for an exchange's moment against a target without a control
        API (by default in real time).
    """

    async def run() -> Report:
        try:
            return await Replay(
                exchanges, world, target, spec, at=at, progress=progress, pace=pace
            ).run(transcript)
        finally:
            await target.close()

    return asyncio.run(run())


def real_time() -> Pace:
    """A pace in real time, counted from its first call."""
    started: list[float] = []

    async def wait(offset: float) -> None:
        if not started:
            started.append(time.monotonic() - offset)
        await asyncio.sleep(max(0.0, started[0] + offset - time.monotonic()))

    return wait


class Replay:
    """The state of one replay: the credentials learnt so far, the worker, the clock."""

    def __init__(
        self, exchanges: Sequence[Exchange], world: World, target: Target, spec: Spec, *,
        at: datetime | None = None, progress: Progress | None = None,
        pace: Pace | None = None,
    ) -> None:  # fmt: skip
        self.exchanges = exchanges
        self.world = world
        self.target = target
        self.seeded_at = seed_moment(world, at)
        self.routes = Routes(spec)
        self.judge = Judge(spec, world.version)
        self.normalizer = Normalizer(self.seeded_at)
        self.credentials = Credentials(world)
        self.progress = progress
        self.pace = pace or real_time()
        self.worker: bool | None = None
        self.kept_group: str | None = None  # the group whose throttle history runs on

    def moment(self, t: float) -> datetime:
        return self.seeded_at + timedelta(seconds=t)

    async def run(self, transcript: str) -> Report:
        self.credentials.check(self.exchanges)
        controlled = await self.target.control.available()
        report = Report(transcript, self.target.label, controlled)
        depends: dict[int, tuple[str, ...]] = {}
        if controlled:
            await self.prepare()
        else:
            report.notes.append(
                f"{self.target.label} has no control API: the world was not loaded (the "
                "deployment must hold it, seeded within the hour), the clock and the throttle "
                "were not set and the worker was not started; the requests went out at their "
                "recorded pace"
            )
            operations = {e.n: _operation_id(self.route(e)[1]) for e in self.exchanges}
            user_rate, anonymous_rate = rates_of(self.world.document.get("settings"))
            depends = dependencies(self.exchanges, operations, user_rate, anonymous_rate)
        for exchange in self.exchanges:
            if controlled:
                await self.before(exchange)
            else:
                report.notes += [
                    f"not done before n={exchange.n}: {setup.action}"
                    for setup in exchange.setup_before
                ]
                await self.pace(exchange.t - self.exchanges[0].t)
            result = await self.exchange(exchange, depends.get(exchange.n, ()))
            report.results.append(result)
            if self.progress is not None:
                self.progress(result)
        return report

    async def prepare(self) -> None:
        control = self.target.control
        if not self.target.world_loaded:
            await control.freeze()
            await control.load_world(self.world, self.seeded_at)
        await control.set_clock(self.seeded_at)
        await control.throttle_on_server_clock()
        await self.set_worker(self.exchanges[0].worker)

    async def set_worker(self, running: bool) -> None:
        if running != self.worker:
            await self.target.control.set_workers(running)
            self.worker = running

    async def before(self, exchange: Exchange) -> None:
        control = self.target.control
        for setup in exchange.setup_before:
            await control.set_clock(self.moment(setup.t))
            if setup.message is not None:
                message: dict[str, Any] = dict(setup.message)
                await control.publish(
                    str(message["task_id"]), message.get("eta"), message.get("expires")
                )
            else:
                await self.set_worker(exchange.worker)
        await control.set_clock(self.moment(exchange.t))
        await self.set_worker(exchange.worker)
        if exchange.throttle_reset:
            await control.reset_throttle()
            self.kept_group = None
        elif exchange.group != self.kept_group:
            # A group whose throttle history the recording kept (A14) starts from an empty one:
            # "replay A14 with an empty history and the same timing" (the recording's README).
            await control.reset_throttle()
            self.kept_group = exchange.group

    def route(self, exchange: Exchange) -> tuple[Any, Route | None]:
        sent = exchange.request
        headers = dict(sent.headers)
        return self.routes.request(sent.method, sent.target, headers, sent.body, kind_of(exchange))

    async def exchange(self, exchange: Exchange, depends_on: tuple[str, ...]) -> Result:
        headers, problems = self.credentials.fill(exchange)
        sent = exchange.request
        answer = await self.target.send(sent.method, sent.target, headers, sent.body)
        self.credentials.remember(exchange, answer)
        request, route = self.route(exchange)
        real = self.expected(exchange)
        comparison = compare(real, answer, self.normalizer, self.schema(route, real.status))
        judgement = self.judge.judge(request, route, real, answer, comparison)
        return Result(exchange, answer, judgement, problems, depends_on)

    def expected(self, exchange: Exchange) -> Answer:
        """The recorded answer, naming the target's host where the replay sent that one."""
        real, origin, host = exchange.response, self.target.origin, exchange.request.header("Host")
        if origin is None or host is None:
            return real
        recorded = f"http://{host}"
        headers = [(k, v.replace(recorded, origin)) for k, v in real.headers]
        return Answer(real.status, headers, real.body.replace(recorded.encode(), origin.encode()))

    @staticmethod
    def schema(route: Route | None, status: int) -> Any:
        if route is None or route.operation is None:
            return None
        response = route.operation.get("responses", {}).get(str(status))
        if response is None:
            return None
        return response.get("content", {}).get("application/json", {}).get("schema")


def _operation_id(route: Route | None) -> str | None:
    return None if route is None else route.operation_id
