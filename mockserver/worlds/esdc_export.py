"""A recording of a real Danube Cloud deployment's stores, imported as a world.

The export (``../shared/reference/real-4.6/world.json`` is one) reads back everything the task
API shows from the real stores: datacenters, users and roles from PostgreSQL, Celery's results
and the pending task lists from Redis, every task-log row. This module turns any export in that
layout into a :class:`~mockserver.worlds.model.World`:

- a task is every id the result backend, the pending lists or the broker's queues know; its one
  step is the state and result the backend holds (a ``FAILURE``'s dict read back from its
  ``repr``, a ``REVOKED`` one as ``TaskRevokedError: <reason>``), and its result expires when
  the backend's key does (the export's time plus the key's TTL);
- a task in a pending list is listed and shows the call its list entry holds; nothing holds these
  tasks on a worker (``on_worker`` false), so only a message in a queue changes them;
- a ``meta.callback`` in a result becomes the task's callback and a ``meta.status`` its
  once-only success code;
- the log is every row, in the order of their ids (the order they were written);
- the workers are stopped at the seed moment, as in a recording made without them.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from mockserver.accounts import Dc, Token, User
from mockserver.ids import parse as parse_task_id
from mockserver.lifecycle import BackendState, Message, Queue, Step, Task, TaskObject
from mockserver.tasklog import LogEntry, LogStatus
from mockserver.worlds.document import WorldError, parse_time
from mockserver.worlds.model import WorkerState, World, WorldObject, WorldSettings

#: Danube Cloud's datacenter access values (vms.models.Dc): 1 public, 3 private.
PUBLIC_ACCESS = 1
_RATE_UNITS = {"second": "s", "minute": "min", "hour": "h", "day": "d"}


def looks_like(doc: Any) -> bool:
    """Whether ``doc`` is such an export rather than one of our world files."""
    return isinstance(doc, dict) and "celery_results" in doc and "tasklog_entries" in doc


def _time(value: Any, where: str) -> datetime:
    return parse_time(value, datetime.fromisoformat("2000-01-01T00:00:00+00:00"), where)


def _rate(text: str) -> str:
    count, unit = text.split("/")
    return f"{count}/{_RATE_UNITS.get(unit, unit)}"


def _result(entry: Mapping[str, Any]) -> tuple[BackendState, Any]:
    """The state and result a result-backend entry holds, as the API reads them."""
    state = BackendState(entry["status"])
    result = entry.get("result")
    if state is BackendState.FAILURE and isinstance(result, dict) and "exc_message" in result:
        if str(result.get("exc_type", "")).endswith("TaskException"):
            try:
                result = ast.literal_eval(result["exc_message"])
            except (ValueError, SyntaxError):
                result = "Unknown failure"
        else:
            result = f"{result.get('exc_type')}: {result.get('exc_message')}"
    elif state is BackendState.REVOKED and isinstance(result, dict):
        result = f"{result.get('exc_type', 'TaskRevokedError')}: {result.get('exc_message', '')}"
    return state, result


def _meta(result: Any) -> dict[str, Any]:
    if isinstance(result, dict) and isinstance(result.get("meta"), dict):
        return dict(result["meta"])
    return {}


def load(doc: Mapping[str, Any]) -> World:
    """The world an export describes."""
    try:
        return _load(doc)
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, WorldError):
            raise
        raise WorldError(
            f"the file looks like an export of a Danube Cloud deployment's stores, but {exc!r} "
            "could not be read from it"
        ) from None


def _load(doc: Mapping[str, Any]) -> World:
    seeded = _time(doc["seeded_at"], "seeded_at")
    read_at = _time(doc.get("read_at", doc["seeded_at"]), "read_at")
    settings_doc = doc.get("settings", {})
    rates = settings_doc.get("throttle_rates", {})
    settings = WorldSettings(
        version=str(doc.get("esdc_ce", {}).get("version", "4.6")),
        result_expires=int(settings_doc.get("CELERY_TASK_RESULT_EXPIRES", 3600)),
        token_lifetime=int(settings_doc.get("AUTHTOKEN_DURATION", 3600)),
        user_rate=_rate(rates.get("user", "45/minute")),
        anon_rate=_rate(rates.get("anon", "30/minute")),
    )
    system_id = int(settings_doc.get("ERIGONES_TASK_USER", 7))
    dc_ids = {dc["name"]: int(dc["id"]) for dc in doc["datacenters"]}
    by_username = {user["username"]: int(user["id"]) for user in doc["users"]}
    datacenters = [
        Dc(
            id=int(dc["id"]),
            name=dc["name"],
            is_default=bool(dc.get("is_default")),
            public=dc.get("access") == PUBLIC_ACCESS,
            owner_id=by_username.get((dc.get("owner") or {}).get("username", "")),
            alias=dc.get("alias", ""),
            desc=dc.get("desc", ""),
        )
        for dc in doc["datacenters"]
    ]
    role_dcs = {role["name"]: set(role.get("dcs", ())) for role in doc.get("roles", ())}
    password = (doc.get("password") or {}).get("all_users")
    users = []
    for user in doc["users"]:
        member_of = set().union(*(role_dcs.get(r, set()) for r in user.get("roles", ())))
        admin_of = set(user.get("admin_in_dcs", ())) | set(user.get("owner_of_dcs", ()))
        users.append(
            User(
                id=int(user["id"]),
                username=user["username"],
                # The system user keeps an unusable password; every other one the shared one.
                password=None if int(user["id"]) == system_id else password,
                api_key=user.get("api_key") or None,
                current_dc=int(user["current_dc"]["id"]),
                dcs=frozenset(dc_ids[name] for name in member_of if name in dc_ids),
                admin_dcs=frozenset(dc_ids[name] for name in admin_of if name in dc_ids),
                is_staff=bool(user.get("is_staff")),
                api_access=bool(user.get("api_access", True)),
                is_active=bool(user.get("is_active", True)),
            )
        )
    objects = [
        WorldObject(
            "vm",
            vm["uuid"],
            vm["hostname"],
            vm.get("alias", ""),
            (vm.get("owner") or {}).get("id"),
            (vm.get("dc") or {}).get("id"),
        )
        for vm in doc.get("vms", ())
    ]
    objects += [
        WorldObject(
            "user",
            str(user["id"]),
            user["username"],
            f"{user.get('first_name', '')} {user.get('last_name', '')}".strip(),
        )
        for user in doc["users"]
    ]
    objects += [
        WorldObject("dc", str(dc["id"]), dc["name"], dc.get("alias", ""))
        for dc in doc["datacenters"]
    ]
    objects += [
        WorldObject("role", str(role["id"]), role["name"], role.get("alias", ""))
        for role in doc.get("roles", ())
    ]
    tokens = [
        Token(token["key"], by_username[token["user"]], _time(token["created"], "tokens"))
        for token in doc.get("tokens", ())
    ]
    rows = sorted(doc["tasklog_entries"], key=lambda row: row["id"])
    log = [_entry(row) for row in rows]
    names = {user.id: user.username for user in users}
    tasks = _tasks(doc, rows, objects, read_at, seeded, names)
    return World(
        datacenters=datacenters,
        users=users,
        objects=objects,
        tokens=tokens,
        tasks=tasks,
        log=log,
        settings=settings,
        workers={queue: WorkerState(False, seeded) for queue in Queue},
        at=seeded,
        description=str(doc.get("format", "an export of a Danube Cloud deployment")),
    )


def _entry(row: Mapping[str, Any]) -> LogEntry:
    object_type = row.get("object_type (property)", row.get("content_type_model") or "")
    return LogEntry(
        time=_time(row["time"], f"tasklog_entries id {row.get('id')}"),
        task=row["task"],
        task_type=int(row["task_type"]),
        status=LogStatus(row["status"]),
        dc_id=int(row["dc_id"]),
        user_id=int(row["user_id"]),
        username=row["username"],
        owner_id=int(row["owner_id"]),
        object_type=object_type or "",
        object_pk=str(row.get("object_pk") or ""),
        object_name=row.get("object_name") or "",
        object_alias=row.get("object_alias") or "",
        msg=row.get("msg") or "",
        detail=row.get("detail") or "",
    )


def _tasks(
    doc: Mapping[str, Any],
    rows: list[Mapping[str, Any]],
    objects: list[WorldObject],
    read_at: datetime,
    seeded: datetime,
    usernames: Mapping[int, str],
) -> list[Task]:
    results: Mapping[str, Any] = doc.get("celery_results", {})
    listed: dict[str, Mapping[str, Any]] = {}
    for pending in doc.get("user_tasks", {}).values():
        listed.update(pending.get("tasks", {}))
    messages = {}
    for queue in (doc.get("broker_db1") or {}).values():
        for message in queue.get("messages_oldest_last", ()) if isinstance(queue, dict) else ():
            body = message.get("body", {})
            if body.get("id"):
                messages[body["id"]] = body
    first_row: dict[str, Mapping[str, Any]] = {}
    for row in rows:
        first_row.setdefault(row["task"], row)
    vms = {obj.pk: obj for obj in objects if obj.type == "vm"}
    ids = [*results, *(i for i in listed if i not in results)]
    ids += [i for i in messages if i not in results and i not in listed]
    tasks = []
    for task_id in ids:
        tid = parse_task_id(task_id)
        if tid is None:
            continue
        entry = results.get(task_id)
        info: Mapping[str, Any] = listed.get(task_id) or {}
        logged = first_row.get(task_id)
        apiview = dict(info.get("apiview") or {})
        created_text = apiview.pop("time", None) or (logged["time"] if logged else None)
        created = seeded if created_text is None else _time(created_text, task_id)
        steps: list[Step] = []
        expires: datetime | None = None
        meta: dict[str, Any] = {}
        if entry is not None:
            state, result = _result(entry)
            steps = [Step(min(created, seeded), state, result)]
            meta = _meta(entry.get("result"))
            ttl = entry.get("ttl_s")
            expires = None if ttl is None or ttl < 0 else read_at + timedelta(seconds=int(ttl))
        obj = _object(info, logged, vms)
        message = None
        if task_id in messages:
            body = messages[task_id]
            message = Message(
                eta=None if body.get("eta") is None else _time(body["eta"], task_id),
                expires=None if body.get("expires") is None else _time(body["expires"], task_id),
            )
        tasks.append(
            Task(
                id=task_id,
                object=obj,
                msg=str(info.get("msg") or (logged or {}).get("msg") or meta.get("msg", "")),
                call=apiview or dict(meta.get("apiview") or {}),
                created_at=created,
                steps=steps,
                expires_at=expires,
                username=(logged or {}).get("username") or usernames.get(tid.creator, "_unknown_"),
                listed=task_id in listed,
                unlisted_at=None,
                end_logged=False,
                queue=Queue.MGMT,
                on_worker=False,
                message=message,
                callback=meta.get("callback"),
                meta_status=meta.get("status"),
            )
        )
    return tasks


def _object(
    info: Mapping[str, Any], row: Mapping[str, Any] | None, vms: Mapping[str, WorldObject]
) -> TaskObject:
    if row is not None:
        return TaskObject(
            row.get("object_type (property)") or row.get("content_type_model") or "",
            str(row.get("object_pk") or ""),
            row.get("object_name") or "",
            row.get("object_alias") or "",
        )
    vm = vms.get(str(info.get("vm_uuid", "")))
    if vm is not None:
        return TaskObject("vm", vm.pk, vm.name, vm.alias)
    return TaskObject("", "", "", "")
