"""The login token file: private to its owner, forgotten on logout."""

from __future__ import annotations

import stat
from pathlib import Path

from esdc_api.es.tokens import TokenStore


def test_a_written_token_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    store = TokenStore(tmp_path / "new" / "folder" / "es-token")
    store.write("t0ken")
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.path.parent.stat().st_mode) == 0o700
    assert store.read() == "t0ken"


def test_an_existing_world_readable_store_is_made_private(tmp_path: Path) -> None:
    path = tmp_path / "es-token"
    path.write_text("a much longer old token")
    path.chmod(0o644)
    TokenStore(path).write("new")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text() == "new"


def test_no_store_means_no_token(tmp_path: Path) -> None:
    assert TokenStore(tmp_path / "absent").read() is None


def test_remove_forgets_the_token_and_tolerates_a_missing_file(tmp_path: Path) -> None:
    store = TokenStore(tmp_path / "es-token")
    store.write("t0ken")
    store.remove()
    store.remove()
    assert not store.path.exists()
