from __future__ import annotations

import importlib.resources
from collections.abc import Callable
from pathlib import Path

import pytest

import esdc_api
from esdc_api import resources


def layout(tmp_path: Path, *files: str) -> Path:
    """A site with an ``esdc_api`` package folder and ``files`` under it; returns the package."""
    for name in files:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("")
    package = tmp_path / "esdc_api"
    package.mkdir(exist_ok=True)
    return package


@pytest.fixture
def find(monkeypatch: pytest.MonkeyPatch) -> Callable[[Path], Path]:
    """data_dir() uncached, for a package folder the test names."""

    def data_dir_for(package: Path) -> Path:
        monkeypatch.setattr(importlib.resources, "files", lambda name: package)
        return resources.data_dir.__wrapped__()

    return data_dir_for


def test_a_checkout_reads_its_files_where_they_are() -> None:
    checkout = Path(esdc_api.__file__).resolve().parent.parent

    assert resources.data_dir() == checkout
    assert resources.path("openapi", "openapi.yaml") == checkout / "openapi" / "openapi.yaml"


def test_an_installed_wheel_reads_the_copy_in_the_package(
    tmp_path: Path, find: Callable[[Path], Path]
) -> None:
    package = layout(tmp_path, "esdc_api/_data/openapi/openapi.yaml", "openapi/openapi.yaml")

    assert find(package) == package / "_data"


def test_a_site_with_a_stray_openapi_folder_is_no_checkout(
    tmp_path: Path, find: Callable[[Path], Path]
) -> None:
    # The original bug looked for site-packages/openapi/; without the copy the error names
    # where the copy should be.
    package = layout(tmp_path, "openapi/openapi.yaml")

    assert find(package) == package / "_data"
