"""World files: a :class:`~mockserver.worlds.model.World` read from and written to a document.

The document's format is ``openapi/control/world.yaml`` (the control API's ``PUT /world/`` body
and ``GET /world/`` answer). A document is first checked against that schema, so a mistake is
reported at its place (``tasks[3].steps[1].at``), then turned into domain values, which checks
what a schema cannot say (a user that does not exist, two default datacenters).

Times are ISO 8601 moments or offsets from the moment the world is loaded (``-3m``, ``+90s``,
``-1h30m``); a document written from a world holds moments only.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft4Validator, ValidationError

from esdc_api import resources
from mockserver import checked
from mockserver.accounts import Dc, Token, User
from mockserver.ids import parse as parse_task_id
from mockserver.lifecycle import (
    RESULT_EXPIRES,
    BackendState,
    Message,
    Queue,
    Revoke,
    Step,
    Task,
    TaskObject,
)
from mockserver.tasklog import LogEntry, LogStatus
from mockserver.worlds.model import History, WorkerState, World, WorldObject, WorldSettings

FORMAT = "esdc-world/1"
SCHEMA_FILE = resources.path("openapi", "control", "world.yaml")
_OFFSET = re.compile(r"^([+-])((?:\d+(?:\.\d+)?[dhms])+)$")
_PART = re.compile(r"(\d+(?:\.\d+)?)([dhms])")
_UNIT = {"d": 86400, "h": 3600, "m": 60, "s": 1}


try:  # libyaml: the demo world and the world schema read in a tenth of the time
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]


class WorldError(ValueError):
    """A world document that cannot be loaded; the message names the place and the fix."""


# -- the schema ------------------------------------------------------------------------------


def _as_json_schema(node: Any) -> Any:
    """The world schema as JSON Schema draft 4: OpenAPI's ``nullable`` becomes a type list."""
    if isinstance(node, list):
        return [_as_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {k: _as_json_schema(v) for k, v in node.items() if not k.startswith("x-")}
    if converted.pop("nullable", False) and "type" in converted:
        converted["type"] = [converted["type"], "null"]
    for keyword in ("example", "format"):  # moments are checked when they are read
        if not isinstance(converted.get(keyword), dict):  # not a property of that name
            converted.pop(keyword, None)
    return converted


@functools.cache
def _validator() -> Draft4Validator:
    definitions = _as_json_schema(yaml.load(SCHEMA_FILE.read_text(), Loader=_Loader))
    # The definitions refer to each other as '#/Name': they sit beside the root's keywords.
    root = dict(definitions["World"])
    schema = {**root, **{name: body for name, body in definitions.items() if name != "World"}}
    return Draft4Validator(schema)


def _place(path: Any) -> str:
    place = ""
    for part in path:
        place += f"[{part}]" if isinstance(part, int) else (f".{part}" if place else str(part))
    return place or "the document"


def _entry_label(doc: Mapping[str, Any], path: Any) -> str:
    """``tasks[3] (9e9d1-...)``: the entry an error is in, with its id or name."""
    parts = list(path)
    if len(parts) >= 2 and isinstance(parts[1], int):
        entries = doc.get(parts[0])
        if isinstance(entries, list) and parts[1] < len(entries):
            entry = entries[parts[1]]
            if isinstance(entry, dict):
                for key in ("id", "username", "name", "task", "pk"):
                    if isinstance(entry.get(key), str | int):
                        return f" ({entry[key]})"
    return ""


@functools.cache
def _checker() -> str:
    """What a verdict of :func:`check` depends on, as a digest: the schema file, this module
    (which reads it) and jsonschema's draft 4 rules."""
    import jsonschema

    rules = Path(jsonschema.__file__).parent
    made_by = hashlib.sha256()
    for path in (SCHEMA_FILE, Path(__file__), *(rules / n for n in _RULES)):
        made_by.update(path.read_bytes())
    return f"world schema {made_by.hexdigest()[:20]}"


_RULES = ("validators.py", "_keywords.py", "_legacy_keywords.py")


def check(doc: Any, *, once: bool = False) -> None:
    """Raise :class:`WorldError` for the first thing the schema refuses in ``doc``.

    :param once: skip a content that passed before, here or in an earlier process
        (:func:`mockserver.checked.once`): for world files, read on every start and reset
        (the demo world's check was about a fifth of its build); not for the documents clients
        send, of which there is no end.
    """
    if not isinstance(doc, dict):
        raise WorldError(f"a world is a mapping with 'format: {FORMAT}', not {type(doc).__name__}")
    if once:
        checked.once(_checker(), doc, lambda: _check(doc))
    else:
        _check(doc)


def _check(doc: dict[str, Any]) -> None:
    errors = sorted(_validator().iter_errors(doc), key=lambda e: list(e.absolute_path))
    if errors:
        error: ValidationError = errors[0]
        raise WorldError(
            f"{_place(error.absolute_path)}{_entry_label(doc, error.absolute_path)}: "
            f"{error.message}"
        )


# -- times -------------------------------------------------------------------------------------


def parse_time(text: Any, base: datetime, where: str) -> datetime:
    """An ISO 8601 moment, or an offset from ``base`` (``-3m``)."""
    if isinstance(text, datetime):
        return text if text.tzinfo else text.replace(tzinfo=UTC)
    if not isinstance(text, str):
        raise WorldError(f"{where}: {text!r} is not a time")
    offset = _OFFSET.match(text.strip())
    if offset:
        seconds = sum(float(n) * _UNIT[unit] for n, unit in _PART.findall(offset[2]))
        return base + timedelta(seconds=-seconds if offset[1] == "-" else seconds)
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise WorldError(
            f"{where}: {text!r} is not a time; write an ISO 8601 moment "
            "(2026-12-01T10:14:26Z) or an offset from the load (-3m, +90s, -1h30m)"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def write_time(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


# -- tasks (also the store's record of a task) ---------------------------------------------------


def task_from_doc(
    doc: Mapping[str, Any],
    time: Callable[[Any, str], datetime],
    where: str,
    *,
    default_created: datetime,
    result_expires: timedelta = RESULT_EXPIRES,
) -> Task:
    """A task from its document; ``time`` reads a time at a place."""
    task_id = str(doc["id"])
    tid = parse_task_id(task_id)
    if tid is None:
        raise WorldError(
            f"{where}.id: {task_id!r} is not a task id (<creator><type><owner><group><dc>"
            "-<8>-<4>-<4>-<4>, such as 3e3d1-8c2f4a17-5b3e-4d21-a9f0)"
        )
    obj = doc.get("object") or {}
    created = time(doc["created"], f"{where}.created") if "created" in doc else default_created
    steps = [
        Step(
            time(step["at"], f"{where}.steps[{i}].at"),
            BackendState(step["state"]),
            step.get("result"),
        )
        for i, step in enumerate(doc.get("steps", ()))
    ]
    for i in range(1, len(steps)):
        if steps[i].at < steps[i - 1].at:
            raise WorldError(f"{where}.steps[{i}].at: the steps must be in time order")
    final = next((step for step in steps if step.state.is_final), None)
    if "expires" in doc:
        expires: datetime | None = (
            None if doc["expires"] is None else time(doc["expires"], f"{where}.expires")
        )
    else:
        expires = None if final is None else final.at + result_expires
    end_logged = bool(doc.get("end_logged", True))
    if "unlisted_at" in doc:
        unlisted = (
            None if doc["unlisted_at"] is None else time(doc["unlisted_at"], f"{where}.unlisted_at")
        )
    else:
        unlisted = final.at if (final is not None and end_logged) else None
    message = None
    if doc.get("message") is not None:
        raw = doc["message"]
        message = Message(
            eta=None if raw.get("eta") is None else time(raw["eta"], f"{where}.message.eta"),
            expires=(
                None
                if raw.get("expires") is None
                else time(raw["expires"], f"{where}.message.expires")
            ),
            revoked=bool(raw.get("revoked", False)),
        )
    revoke = None
    if doc.get("pending_revoke") is not None:
        raw = doc["pending_revoke"]
        revoke = Revoke(
            time(raw["at"], f"{where}.pending_revoke.at"),
            bool(raw.get("terminate", True)),
            int(raw.get("signal", 15)),
        )
    queue = doc.get("queue") or ("mgmt" if tid.type.value == "m" else "node")
    return Task(
        id=task_id,
        object=TaskObject(
            str(obj.get("type", "")),
            str(obj.get("pk", "")),
            str(obj.get("name", "")),
            str(obj.get("alias", "")),
        ),
        msg=str(doc.get("msg", "")),
        call=dict(doc.get("call") or {}),
        created_at=created,
        steps=steps,
        expires_at=expires,
        username=str(doc.get("username", "")),
        listed=bool(doc.get("listed", True)),
        unlisted_at=unlisted,
        end_logged=end_logged,
        final_logged=bool(doc.get("final_logged", False)),
        queue=Queue(queue),
        on_worker=bool(doc.get("on_worker", True)),
        message=message,
        callback=doc.get("callback"),
        meta_status=doc.get("meta_status"),
        cancel=str(doc.get("cancel", "revokes")),
        detail=str(doc.get("detail", "")),
        pending_revoke=revoke,
    )


def task_to_doc(task: Task, *, store: bool = False) -> dict[str, Any]:
    """A task's document, with moments; ``store`` adds what only the store keeps."""
    doc: dict[str, Any] = {
        "id": task.id,
        "msg": task.msg,
        "object": {
            "type": task.object.type,
            "pk": task.object.pk,
            "name": task.object.name,
            "alias": task.object.alias,
        },
        "call": task.call,
        "created": write_time(task.created_at),
        "steps": [
            {"state": str(step.state), "at": write_time(step.at), "result": step.result}
            for step in task.steps
        ],
        "expires": None if task.expires_at is None else write_time(task.expires_at),
        "listed": task.listed,
        "unlisted_at": None if task.unlisted_at is None else write_time(task.unlisted_at),
        "end_logged": task.end_logged,
        "queue": str(task.queue),
        "on_worker": task.on_worker,
        "cancel": task.cancel,
    }
    if task.username:
        doc["username"] = task.username
    if task.detail:
        doc["detail"] = task.detail
    if task.callback is not None:
        doc["callback"] = task.callback
    if task.meta_status is not None:
        doc["meta_status"] = task.meta_status
    if task.message is not None:
        message = task.message
        doc["message"] = {
            "eta": None if message.eta is None else write_time(message.eta),
            "expires": None if message.expires is None else write_time(message.expires),
            "revoked": message.revoked,
        }
    if task.pending_revoke is not None:
        revoke = task.pending_revoke
        doc["pending_revoke"] = {
            "at": write_time(revoke.at),
            "terminate": revoke.terminate,
            "signal": revoke.signal,
        }
    if store:
        doc["final_logged"] = task.final_logged
    return doc


# -- whole worlds --------------------------------------------------------------------------------


def read(path: Path) -> Any:
    """The document in a YAML or JSON file, or :class:`WorldError` naming the file."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise WorldError(f"no world file at {str(path)!r}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise WorldError(f"cannot read the world file {str(path)!r}: {exc}") from None
    try:
        return yaml.load(text, Loader=_Loader)  # JSON is YAML too
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        place = "" if mark is None else f" (line {mark.line + 1}, column {mark.column + 1})"
        problem = getattr(exc, "problem", None) or exc
        raise WorldError(f"{str(path)!r} is not YAML or JSON{place}: {problem}") from None


def from_doc(doc: Any, base: datetime, *, check_once: bool = False) -> World:
    """The world a document of ours describes; offsets count from ``base``.

    :param check_once: check a content against the schema once (:func:`check`).
    """
    check(doc, once=check_once)
    assert isinstance(doc, dict)

    def time(value: Any, where: str) -> datetime:
        return parse_time(value, base, where)

    settings = WorldSettings(**(doc.get("settings") or {}))
    dcs: list[Dc] = []
    names: dict[str, int] = {}
    for i, raw in enumerate(doc["datacenters"]):
        if raw["name"] in names or any(dc.id == raw["id"] for dc in dcs):
            raise WorldError(
                f"datacenters[{i}] ({raw['name']}): a second datacenter with that name or id"
            )
        names[raw["name"]] = raw["id"]
    defaults = [raw["name"] for raw in doc["datacenters"] if raw.get("default")]
    if len(defaults) > 1:
        raise WorldError(f"datacenters: {', '.join(defaults)} are all marked default; mark one")
    default_name = defaults[0] if defaults else doc["datacenters"][0]["name"]

    def dc_id(name: Any, where: str) -> int:
        if name not in names:
            known = ", ".join(names)
            raise WorldError(f"{where}: no datacenter {name!r}; the datacenters are {known}")
        return int(names[name])

    usernames = {raw["username"]: raw["id"] for raw in doc.get("users", ())}
    if len(usernames) != len(doc.get("users", ())):
        raise WorldError("users: two users have the same username")

    def user_id(name: Any, where: str) -> int:
        if name not in usernames:
            known = ", ".join(usernames) or "none"
            raise WorldError(f"{where}: no user {name!r}; the users are {known}")
        return int(usernames[name])

    owned: dict[str, set[int]] = {}
    for i, raw in enumerate(doc["datacenters"]):
        owner = (
            None if raw.get("owner") is None else user_id(raw["owner"], f"datacenters[{i}].owner")
        )
        dcs.append(
            Dc(
                id=raw["id"],
                name=raw["name"],
                is_default=raw["name"] == default_name,
                public=raw.get("access", "private") == "public",
                owner_id=owner,
                alias=raw.get("alias", ""),
                desc=raw.get("desc", ""),
            )
        )
        if raw.get("owner") is not None:
            owned.setdefault(raw["owner"], set()).add(raw["id"])
    users = []
    for i, raw in enumerate(doc.get("users", ())):
        where = f"users[{i}] ({raw['username']})"
        current = raw.get("current_dc", default_name)
        users.append(
            User(
                id=raw["id"],
                username=raw["username"],
                password=raw.get("password"),
                api_key=raw.get("api_key"),
                current_dc=dc_id(current, f"{where}.current_dc"),
                dcs=frozenset(dc_id(n, f"{where}.dcs") for n in raw.get("dcs", ())),
                admin_dcs=frozenset(
                    {dc_id(n, f"{where}.admin_of") for n in raw.get("admin_of", ())}
                    | owned.get(raw["username"], set())
                ),
                is_staff=bool(raw.get("staff", False)),
                api_access=bool(raw.get("api_access", True)),
                is_active=bool(raw.get("active", True)),
            )
        )
    objects = [
        WorldObject(
            type=raw["type"],
            pk=str(raw["pk"]),
            name=raw["name"],
            alias=raw.get("alias", ""),
            owner_id=None
            if raw.get("owner") is None
            else user_id(raw["owner"], f"objects[{i}].owner"),
            dc_id=None if raw.get("dc") is None else dc_id(raw["dc"], f"objects[{i}].dc"),
        )
        for i, raw in enumerate(doc.get("objects", ()))
    ]
    tokens = [
        Token(
            raw["key"],
            user_id(raw["user"], f"tokens[{i}].user"),
            time(raw["created"], f"tokens[{i}].created"),
        )
        for i, raw in enumerate(doc.get("tokens", ()))
    ]
    expires = timedelta(seconds=settings.result_expires)
    tasks = []
    seen: set[str] = set()
    for i, raw in enumerate(doc.get("tasks", ())):
        where = f"tasks[{i}] ({raw['id']})"
        if raw["id"] in seen:
            raise WorldError(f"{where}: a second task with that id")
        seen.add(raw["id"])
        task = task_from_doc(raw, time, where, default_created=base, result_expires=expires)
        if not task.username:
            task.username = next(
                (u.username for u in users if u.id == task.tid.creator), "_unknown_"
            )
        if task.tid.dc not in names.values():
            raise WorldError(
                f"{where}.id: the id names datacenter {task.tid.dc}, which the world lacks"
            )
        if task.callback is not None and task.callback == task.id:
            raise WorldError(f"{where}.callback: a task cannot be its own callback")
        tasks.append(task)
    by_id = {user.id: user.username for user in users}
    log = []
    for i, raw in enumerate(doc.get("log", ())):
        where = f"log[{i}] ({raw['task']})"
        tid = parse_task_id(raw["task"])
        if tid is None and not all(k in raw for k in ("user_id", "owner_id", "dc", "task_type")):
            raise WorldError(
                f"{where}.task: {raw['task']!r} is not a task id; give user_id, owner_id, dc "
                "and task_type for an entry of something else"
            )
        obj = raw.get("object") or {}
        creator = raw.get("user_id", tid.creator if tid else 0)
        log.append(
            LogEntry(
                time=time(raw["time"], f"{where}.time"),
                task=raw["task"],
                task_type=raw.get("task_type", tid.log_type if tid else 0),
                status=LogStatus(raw["status"]),
                dc_id=dc_id(raw["dc"], f"{where}.dc") if "dc" in raw else (tid.dc if tid else 0),
                user_id=creator,
                username=raw.get("username", by_id.get(creator, "_unknown_")),
                owner_id=raw.get("owner_id", tid.owner if tid else 0),
                object_type=str(obj.get("type", "")),
                object_pk=str(obj.get("pk", "")),
                object_name=str(obj.get("name", "")),
                object_alias=str(obj.get("alias", "")),
                msg=raw.get("msg", ""),
                detail=raw.get("detail", ""),
            )
        )
    workers = {
        Queue(name): WorkerState(
            bool(raw["running"]),
            None if raw.get("since") is None else time(raw["since"], f"workers.{name}.since"),
        )
        for name, raw in (doc.get("workers") or {}).items()
    }
    history_doc = doc.get("history") or {}
    history = History(
        tasks=int(history_doc.get("tasks", 0)),
        seed=int(history_doc.get("seed", 0)),
        span_seconds=(
            parse_time("+" + history_doc.get("span", "1d"), base, "history.span") - base
        ).total_seconds(),
    )
    return World(
        datacenters=dcs,
        users=users,
        objects=objects,
        tokens=tokens,
        tasks=tasks,
        log=log,
        settings=settings,
        workers=workers,
        history=history,
        at=None if doc.get("at") is None else time(doc["at"], "at"),
        description=doc.get("description", ""),
        derive_log="log" not in doc,
    )


def to_doc(world: World) -> dict[str, Any]:
    """The document of a world, with moments only (what ``GET /control/world/`` answers)."""
    dc_names = {dc.id: dc.name for dc in world.datacenters}
    usernames = {user.id: user.username for user in world.users}
    owned = {dc.id: dc.owner_id for dc in world.datacenters}
    doc: dict[str, Any] = {"format": FORMAT}
    if world.at is not None:
        doc["at"] = write_time(world.at)
    if world.description:
        doc["description"] = world.description
    doc["settings"] = {
        "version": world.settings.version,
        "result_expires": world.settings.result_expires,
        "token_lifetime": world.settings.token_lifetime,
        "user_rate": world.settings.user_rate,
        "anon_rate": world.settings.anon_rate,
    }
    doc["workers"] = {
        str(queue): {"running": state.running}
        | ({} if state.since is None else {"since": write_time(state.since)})
        for queue, state in world.workers.items()
    }
    doc["datacenters"] = [
        {
            "id": dc.id,
            "name": dc.name,
            "access": "public" if dc.public else "private",
            "default": dc.is_default,
            **(
                {}
                if dc.owner_id is None
                else {"owner": usernames.get(dc.owner_id, str(dc.owner_id))}
            ),
            **({"alias": dc.alias} if dc.alias else {}),
            **({"desc": dc.desc} if dc.desc else {}),
        }
        for dc in world.datacenters
    ]
    doc["users"] = [
        {
            "id": user.id,
            "username": user.username,
            "password": user.password,
            "api_key": user.api_key,
            "staff": user.is_staff,
            "active": user.is_active,
            "api_access": user.api_access,
            "current_dc": dc_names[user.current_dc],
            "dcs": [dc_names[i] for i in sorted(user.dcs)],
            "admin_of": [dc_names[i] for i in sorted(user.admin_dcs) if owned.get(i) != user.id],
        }
        for user in world.users
    ]
    doc["objects"] = [
        {
            "type": obj.type,
            "pk": obj.pk,
            "name": obj.name,
            "alias": obj.alias,
            **({} if obj.owner_id is None else {"owner": usernames[obj.owner_id]}),
            **({} if obj.dc_id is None else {"dc": dc_names[obj.dc_id]}),
        }
        for obj in world.objects
    ]
    doc["tokens"] = [
        {"user": usernames[t.user_id], "key": t.key, "created": write_time(t.created_at)}
        for t in world.tokens
    ]
    doc["tasks"] = [task_to_doc(task) for task in world.tasks]
    doc["log"] = [log_entry_to_doc(entry, dc_names) for entry in world.log]
    return doc


def log_entry_to_doc(entry: LogEntry, dc_names: Mapping[int, str]) -> dict[str, Any]:
    return {
        "time": write_time(entry.time),
        "task": entry.task,
        "status": str(entry.status),
        "username": entry.username,
        "user_id": entry.user_id,
        "owner_id": entry.owner_id,
        "dc": dc_names.get(entry.dc_id, str(entry.dc_id)),
        "task_type": entry.task_type,
        "object": {
            "type": entry.object_type,
            "pk": entry.object_pk,
            "name": entry.object_name,
            "alias": entry.object_alias,
        },
        "msg": entry.msg,
        "detail": entry.detail,
    }
