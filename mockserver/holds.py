"""Holding a request back on a world's clock, and dropping its connection unanswered.

A delay is measured on the world's clock, as everything else a task does: it ends when the
clock has moved on by it. At scale 60 that is a sixtieth of it in real time; on a frozen clock
it lasts until the clock is moved (a test holds an answer back, looks at its app's spinner,
then advances the clock and the answer comes); a delay "in real time" ignores the clock. A
client that goes away while its request is held ends the wait.

Dropping a connection needs the server's transport, which ASGI does not offer: with uvicorn,
the ``send`` it passes the application belongs to the connection's request cycle, which holds
the transport. :class:`~mockserver.app.ReferenceServer` leaves that ``send`` in the scope.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

from starlette.types import Message, Receive, Scope, Send

from mockserver.clock import ControlledClock

#: Where the server's own ``send`` for the request is (see the module's docstring).
SERVER_SEND_KEY = "esdc.server_send"
#: How often a held request looks at the clock when nothing tells it the clock moved (a clock
#: moved by another process serving the same database), in real seconds.
POLL = 0.25
log = logging.getLogger("mockserver")


async def hold(
    clock: ControlledClock,
    seconds: float,
    receive: Receive,
    *,
    real: bool = False,
    sync: Callable[[], None] | None = None,
) -> Receive | None:
    """Wait until ``clock`` has moved on by ``seconds`` (real ones if ``real``); return the
    ``receive`` to go on with, or ``None`` if the client went away meanwhile.

    :param sync: called while waiting, to see a clock moved by another process.
    """
    if seconds <= 0:
        return receive
    loop = asyncio.get_running_loop()
    moved, gone = asyncio.Event(), asyncio.Event()
    kept: list[Message] = []  # what the client sent meanwhile, for whoever reads it next

    async def listen() -> None:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                gone.set()
                return
            kept.append(message)

    def clock_moved() -> None:  # called by whoever moved it, in whichever thread
        loop.call_soon_threadsafe(moved.set)

    unwatch = clock.watch(clock_moved)
    listener = asyncio.ensure_future(listen())
    try:
        if real:
            await _first(asyncio.sleep(seconds), gone.wait())
        else:
            deadline = clock.now() + timedelta(seconds=seconds)
            while not gone.is_set():
                left = (deadline - clock.now()).total_seconds()
                if left <= 0:
                    break
                wait = POLL if clock.frozen else min(clock.real_seconds(left), POLL)
                moved.clear()
                await _first(moved.wait(), gone.wait(), timeout=wait)
                if sync is not None:
                    sync()
    finally:
        unwatch()
        listener.cancel()
    if gone.is_set():
        return None

    async def replay() -> Message:
        return kept.pop(0) if kept else await receive()

    return replay


async def _first(*waits: Awaitable[object], timeout: float | None = None) -> None:
    tasks = [asyncio.ensure_future(w) for w in waits]
    try:
        await asyncio.wait(tasks, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()


async def drop(scope: Scope, send: Send) -> None:
    """Close the request's connection without an answer, as a deployment whose proxy or
    network fails does; the client sees the connection end before any answer."""
    server_send = scope.get(SERVER_SEND_KEY)
    cycle = getattr(server_send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None:
        # Not uvicorn: break the answer off after its head, which every client also sees
        # as a failed request.
        log.warning("cannot drop the connection under this server: breaking the answer off")
        await send(
            {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"1")]}
        )
        raise ConnectionAbortedError("the fault rule dropped the connection")
    transport.close()
    # Let the server notice the connection is gone, so that it neither answers nor complains
    # that the application did not.
    for _ in range(100):
        if getattr(cycle, "disconnected", True):
            break
        await asyncio.sleep(0)
