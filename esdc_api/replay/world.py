"""The world a transcript was recorded in: what the replay loads into the server, and reads.

Two formats are understood, told apart by their shape:

- an **export** of a real deployment's stores, as ``../shared/reference/real-4.6/world.json``
  (``seeded_at``, ``users``, ``tokens``, ``celery_results``, ``tasklog_entries``, ...);
- a **world file** of ours (``format: esdc-world/1``, YAML or JSON; its JSON Schema is
  ``openapi/control/world.yaml``).

The reference server loads either. The replay itself reads only the moment the recording's
``t`` counts from, the Danube Cloud version, the users' API keys and the stored login tokens.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import yaml

from esdc_api.replay.errors import WorldError

#: The ``format`` of a world file of ours.
OUR_FORMAT = "esdc-world/1"


@dataclass(frozen=True)
class World:
    """A world file, read.

    :param at: the moment ``t = 0`` of the transcript (an export's ``seeded_at``, a world
        file's ``at``); ``None`` when the file gives none.
    :param version: the Danube Cloud version it comes from (``None`` when unknown).
    :param api_keys: username → API key.
    :param tokens: username → the login token stored for them.
    """

    path: Path
    document: Mapping[str, Any]
    kind: str  # "export" or "ours"
    at: datetime | None
    version: str | None
    api_keys: Mapping[str, str]
    tokens: Mapping[str, str]

    def as_json(self) -> str:
        """The document as JSON, as ``PUT /control/world/`` takes it."""
        return json.dumps(self.document, default=_json_default)

    def __repr__(self) -> str:
        return f"World({str(self.path)!r}, {self.kind}, at={self.at}, users={len(self.api_keys)})"


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):  # YAML reads unquoted times as datetimes
        return value.isoformat()
    raise TypeError(f"{value!r} cannot be written as JSON")


def parse_moment(value: Any) -> datetime:
    """An ISO 8601 moment (UTC unless it has an offset) from a string or a YAML datetime."""
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(
                f"{value!r} is not an ISO 8601 moment such as 2026-12-01T10:14:26Z"
            ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def load_world(path: Path) -> World:
    """Read a world file of either format.

    :raises WorldError: when the file is missing or unreadable, is neither format, or its
        users, tokens or moment are not where the format puts them.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise WorldError(path, "no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise WorldError(path, f"cannot be read: {exc}") from exc
    try:
        document = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise WorldError(path, f"is neither JSON nor YAML: {exc}") from exc
    if not isinstance(document, dict):
        raise WorldError(path, "is not an object (a world file or an export of a deployment)")
    if document.get("format") == OUR_FORMAT:
        kind, moment_key = "ours", "at"
        version = (document.get("settings") or {}).get("version", "4.6")
    elif "seeded_at" in document and "users" in document:
        kind, moment_key = "export", "seeded_at"
        version = (document.get("esdc_ce") or {}).get("version")
    else:
        raise WorldError(
            path,
            f"is neither a world file (format: {OUR_FORMAT}) nor an export of a deployment's "
            "stores (with seeded_at and users)",
        )
    try:
        at = parse_moment(document[moment_key]) if document.get(moment_key) else None
    except ValueError as exc:
        raise WorldError(path, f"{moment_key}: {exc}") from exc
    return World(
        path=path,
        document=document,
        kind=kind,
        at=at,
        version=None if version is None else str(version),
        api_keys=_by_user(path, document, "users", "username", "api_key"),
        tokens=_by_user(path, document, "tokens", "user", "key"),
    )


def _by_user(
    path: Path, document: Mapping[str, Any], key: str, name: str, value: str
) -> dict[str, str]:
    entries = document.get(key) or []
    if not isinstance(entries, list):
        raise WorldError(path, f"{key} is not a list")
    found = {}
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict) or not isinstance(entry.get(name), str):
            raise WorldError(path, f"{key}[{index}] has no {name}")
        if isinstance(entry.get(value), str) and entry[value]:
            found[entry[name]] = entry[value]
    return found
