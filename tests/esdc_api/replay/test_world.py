"""Reading the world: an export of real stores, or a world file of ours."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from esdc_api.replay import World, WorldError, load_world


def test_the_recorded_export_gives_its_seed_version_keys_and_stored_token(world: World) -> None:
    assert world.kind == "export"
    assert world.at == datetime(2026, 12, 1, 10, 14, 26, 41843, tzinfo=UTC)
    assert world.version == "4.6"
    assert world.api_keys["user1"] == "u1111111111111111111111111111111"
    assert set(world.api_keys) == {"admin", "_system", "dcadmin", "user1", "user2", "noapi",
                                   "inactive"}  # fmt: skip
    assert world.tokens == {"inactive": "inactive00000000000000000000000000000000"}


def test_a_world_file_of_ours_in_yaml_is_sent_as_json_with_its_times_as_text(
    tmp_path: Path,
) -> None:
    path = tmp_path / "world.yaml"
    path.write_text(
        "format: esdc-world/1\n"
        "at: 2026-12-01T10:00:00Z\n"
        "datacenters: [{id: 1, name: main}]\n"
        "users:\n"
        "  - {id: 3, username: alice, api_key: k-alice}\n"
        "  - {id: 4, username: bob}\n"
        "tokens: [{user: alice, key: t-alice, created: 2026-12-01T09:59:00Z}]\n"
    )
    world = load_world(path)
    assert (world.kind, world.version) == ("ours", "4.6")
    assert world.at == datetime(2026, 12, 1, 10, tzinfo=UTC)
    assert world.api_keys == {"alice": "k-alice"}
    assert world.tokens == {"alice": "t-alice"}
    assert json.loads(world.as_json())["tokens"][0]["created"] == "2026-12-01T09:59:00+00:00"


def test_a_world_without_a_moment_has_none(tmp_path: Path) -> None:
    path = tmp_path / "world.json"
    path.write_text(json.dumps({"format": "esdc-world/1", "datacenters": [], "users": []}))
    assert load_world(path).at is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[1, 2]", "is not an object"),
        ('{"users": []}', "neither a world file .format: esdc-world/1. nor an export"),
        ("{oops", "is neither JSON nor YAML"),
        ('{"format": "esdc-world/1", "users": [{"id": 1}]}', r"users\[0\] has no username"),
        (
            '{"format": "esdc-world/1", "users": [], "at": "noon"}',
            "at: 'noon' is not an ISO 8601 moment",
        ),
    ],
)
def test_a_file_that_is_no_world_is_refused_saying_why(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "world.json"
    path.write_text(text)
    with pytest.raises(WorldError, match=message):
        load_world(path)


def test_a_missing_world_is_refused_naming_it(tmp_path: Path) -> None:
    with pytest.raises(WorldError, match=r"world .*nothing\.json: no such file"):
        load_world(tmp_path / "nothing.json")
