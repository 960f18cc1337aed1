from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from esdc_api import resources, spec


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv(resources.CACHE_ENV, str(tmp_path))
    spec._forms.cache_clear()
    yield tmp_path / "spec"
    spec._forms.cache_clear()


def made_afresh(monkeypatch: pytest.MonkeyPatch) -> tuple[spec.Spec, spec.Spec]:
    with monkeypatch.context() as patched:
        patched.setenv(resources.CACHE_ENV, "")
        spec._forms.cache_clear()
        forms = spec.load_bundle(), spec.load_spec()
    spec._forms.cache_clear()
    return forms


def test_a_later_process_reads_both_forms_as_the_first_made_them(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = spec.load_bundle(), spec.load_spec()
    assert len(list(cache.glob("*.json"))) == 1
    spec._forms.cache_clear()  # as a new process
    assert (spec.load_bundle(), spec.load_spec()) == first == made_afresh(monkeypatch)


def test_a_damaged_copy_is_made_again(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec.load_bundle()
    (kept,) = cache.glob("*.json")
    kept.write_text("[{")
    spec._forms.cache_clear()
    assert spec.load_bundle() == made_afresh(monkeypatch)[0]


def test_another_spec_content_is_kept_apart(cache: Path, tmp_path: Path) -> None:
    root = tmp_path / "api" / "openapi.yaml"
    root.parent.mkdir()
    root.write_text("openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths: {}\n")
    assert spec.load_bundle(root)["info"]["title"] == "t"
    root.write_text("openapi: 3.0.3\ninfo: {title: u, version: '1'}\npaths: {}\n")
    assert spec.load_bundle(root)["info"]["title"] == "u"
    assert len(list(cache.glob("*.json"))) == 2
