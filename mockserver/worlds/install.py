"""Reading world files, putting a world into a store, and reading it back out."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, replace
from datetime import datetime, timedelta
from pathlib import Path
from random import Random
from typing import Any

from mockserver.lifecycle import Queue, Task
from mockserver.progress import Steps, quiet
from mockserver.store import Store
from mockserver.tasklog import LogEntry, final_entry, start_entry
from mockserver.worlds import esdc_export
from mockserver.worlds.document import WorldError, from_doc, read
from mockserver.worlds.history import draw_history
from mockserver.worlds.model import History, WorkerState, World, WorldSettings


def world_from_doc(doc: Any, base: datetime, *, check_once: bool = False) -> World:
    """The world a document describes: one of ours, or an export of a real deployment.

    :param check_once: check a content of ours against the schema once
        (:func:`mockserver.worlds.document.check`).
    """
    if esdc_export.looks_like(doc):
        return esdc_export.load(doc)
    return from_doc(doc, base, check_once=check_once)


def read_world(path: Path | str, base: datetime) -> World:
    """The world in a file; offsets in it count from ``base``.

    :raises WorldError: naming the file, the entry and the field that are wrong.
    """
    path = Path(path)
    doc = read(path)
    try:
        return world_from_doc(doc, base, check_once=True)  # a file: read again and again
    except WorldError as exc:
        raise WorldError(f"{path}: {exc}") from None


def install(
    store: Store,
    world: World,
    now: datetime,
    *,
    history_tasks: int | None = None,
    seed: int | None = None,
    steps: Steps = quiet,
) -> None:
    """Put ``world`` into an empty store as it stands at ``now``, in one transaction (a crash
    leaves no half-built world).

    :param history_tasks: how many history tasks to make instead of the world's own number.
    :param seed: the history's seed instead of the world's.
    :param steps: told how far the build is (:class:`mockserver.progress.Progress`).
    """
    made = world.history
    if history_tasks is not None or seed is not None:
        made = History(
            tasks=made.tasks if history_tasks is None else history_tasks,
            seed=made.seed if seed is None else seed,
            span_seconds=made.span_seconds,
        )
    expires = timedelta(seconds=world.settings.result_expires)
    with store.transaction():
        for dc in world.datacenters:
            store.add_dc(dc)
        for user in world.users:
            store.add_user(user)
        store.add_objects(world.objects)
        for token in world.tokens:
            store.save_token(token)
        store.set_meta("settings", json.dumps(asdict(world.settings)))
        store.set_meta(
            "workers",
            json.dumps(
                {
                    str(queue): {
                        "running": state.running,
                        "since": None if state.since is None else state.since.isoformat(),
                    }
                    for queue, state in world.workers.items()
                }
            ),
        )
        store.set_meta("description", world.description)
        store.set_meta("built_at", now.isoformat())
        own: list[tuple[Any, ...]] = []
        if world.derive_log:
            entries: list[LogEntry] = []
            for task in world.tasks:
                final = task.final_step()
                if task.created_at <= now:
                    entries.append(start_entry(task))
                if final is not None and final.at <= now and task.end_logged:
                    entries.append(final_entry(task))
            # By time, the history's entries before a world task's at the same moment.
            entries.sort(key=lambda entry: entry.time)
            # Made before the history's, so that the shapes' ids are what they always were.
            own = [store.log_row(e) for e in entries]
        tasks: list[Task] = []
        drawn: Iterable[tuple[Any, ...]] = ()
        counted: Iterable[tuple[Any, ...]] = ()
        if made.tasks:
            usernames = {user.id: user.username for user in world.users}
            admins = {
                dc_id: user.id
                for user in world.users
                if not user.is_staff
                for dc_id in user.admin_dcs
            }
            drawing = draw_history(
                Random(made.seed),
                now,
                made.tasks,
                timedelta(seconds=made.span_seconds),
                world.objects,
                admins=admins,
                usernames=usernames,
                result_expires=expires,
                tasks=tasks,
                shapes=store.log_shape,
                steps=steps,
            )
            drawn, counted = drawing.task_rows(), drawing.counted()
        steps("writing, sorting and indexing the log")
        if world.derive_log:
            store.load_history(drawn, counted, among=own)
        else:
            # A world's own log (a recording) after the history, as it was written.
            store.load_history(drawn, counted, after=(store.log_row(e) for e in world.log))
        steps("writing the tasks")
        for task in world.tasks:
            final = task.final_step()
            ended = final is not None and final.at <= now
            tasks.append(replace(task, final_logged=ended or task.final_logged))
        store.add_tasks(tasks)


def export(store: Store, now: datetime) -> World:
    """The whole world a store holds, at ``now``."""
    raw = store.get_meta("settings")
    settings = WorldSettings(**json.loads(raw)) if raw else WorldSettings()
    workers = {}
    for name, state in json.loads(store.get_meta("workers") or "{}").items():
        since = state.get("since")
        workers[Queue(name)] = WorkerState(
            state["running"], None if since is None else datetime.fromisoformat(since)
        )
    return World(
        datacenters=store.dcs(),
        users=store.users(),
        objects=store.objects(),
        tokens=store.tokens(),
        tasks=store.tasks(),
        log=store.log_entries(),
        settings=settings,
        workers=workers,
        at=now,
        description=store.get_meta("description") or "",
    )


def install_demo(
    store: Store,
    now: datetime,
    *,
    seed: int | None = None,
    history: int | None = None,
    days: float | None = None,
) -> None:
    """Put the demo world into an empty store as it stands at ``now``.

    :param days: how far back its history reaches instead of a day.
    """
    from mockserver.worlds import DEMO_WORLD

    world = read_world(DEMO_WORLD, now)
    if days is not None:
        world.history = replace(world.history, span_seconds=days * 86400)
    install(store, world, now, history_tasks=history, seed=seed)
