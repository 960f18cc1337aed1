from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from connexion.exceptions import InvalidSpecification
from connexion.spec import Specification

from esdc_api import resources
from esdc_api.spec import load_spec
from mockserver import checked


@pytest.fixture(autouse=True)
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    folder = tmp_path / "checked"
    monkeypatch.setenv(resources.CACHE_ENV, str(tmp_path))
    checked.forget()
    yield folder
    checked.forget()


def test_a_content_that_passed_is_not_checked_again_in_another_process(cache: Path) -> None:
    calls: list[int] = []
    checked.once("probe", {"a": 1}, lambda: calls.append(1))
    checked.forget()  # as a new process: only the folder remembers
    checked.once("probe", {"a": 1}, lambda: calls.append(2))
    assert calls == [1]
    assert len(list(cache.iterdir())) == 1


def test_another_content_or_checker_is_checked() -> None:
    calls: list[str] = []
    checked.once("probe", {"a": 1}, lambda: calls.append("first"))
    checked.once("probe", {"a": 2}, lambda: calls.append("other content"))
    checked.once("other", {"a": 1}, lambda: calls.append("other checker"))
    assert calls == ["first", "other content", "other checker"]


def test_a_content_that_failed_fails_every_time(cache: Path) -> None:
    def refuse() -> None:
        raise ValueError("bad")

    for _ in range(2):
        with pytest.raises(ValueError, match="bad"):
            checked.once("probe", {"a": 1}, refuse)
    assert not cache.exists()


def test_content_without_canonical_json_is_checked_every_time() -> None:
    calls: list[int] = []
    for _ in range(2):
        checked.once("probe", {"a": object()}, lambda: calls.append(1))
    assert calls == [1, 1]


def test_an_empty_setting_keeps_verdicts_in_memory_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(resources.CACHE_ENV, "")
    assert checked.cache_dir() is None
    calls: list[int] = []
    checked.once("probe", {"a": 1}, lambda: calls.append(1))
    checked.forget()
    checked.once("probe", {"a": 1}, lambda: calls.append(2))
    assert calls == [1, 2]


def test_connexion_still_refuses_an_invalid_spec_after_a_valid_one_passed() -> None:
    checked.skip_connexion_rechecks()
    checked.skip_connexion_rechecks()  # a second call wraps nothing more
    spec = load_spec()
    Specification.load(spec)
    Specification.load(load_spec())  # recorded: not checked again
    broken = load_spec()
    broken["paths"]["/task/"]["get"]["responses"] = "none"
    with pytest.raises(InvalidSpecification):
        Specification.load(broken)


def test_check_spec_refuses_what_connexion_refuses_and_passes_the_spec() -> None:
    checked.skip_connexion_rechecks()
    checked.check_spec(load_spec())
    broken = load_spec()
    broken["paths"]["/task/"]["get"]["responses"] = "none"
    with pytest.raises(InvalidSpecification):
        checked.check_spec(broken)


def test_the_server_refuses_an_invalid_task_spec_though_connexion_only_gets_its_frame() -> None:
    from mockserver.app import create_app, ui_frame

    broken = load_spec()
    broken["paths"]["/task/"]["get"]["responses"] = "none"
    with pytest.raises(InvalidSpecification):
        create_app(spec=broken)
    assert ui_frame(load_spec())["paths"] == {}


def test_connexion_s_verdicts_are_keyed_by_the_content_that_makes_them() -> None:
    key = checked._connexion_checker()
    assert key == checked._connexion_checker() and len(key) == 20
