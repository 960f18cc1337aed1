"""Where the toolkit finds the files it ships: the spec, the docs sources, the linters' settings.

They live at the top of the repository (``openapi/``, ``docs/``, ``conf.py``, ...), which stays
their only source. A wheel carries a copy of them in the package, as ``esdc_api/_data/``
(``setup.py`` copies them there while it builds); a checkout, and an editable install of it,
reads them where they are, so that an edit shows at once. :func:`data_dir` tells which.
"""

from __future__ import annotations

import functools
import importlib.resources
import os
from collections.abc import Mapping
from pathlib import Path

#: What ``setup.py`` copies into the package, as paths from the repository's root.
#: The folder the toolkit keeps what it worked out between runs in, instead of
#: ``$XDG_CACHE_HOME/esdc-api``; an empty value keeps nothing between runs.
CACHE_ENV = "ESDC_CACHE_DIR"
SHIPPED = ("openapi", "docs", "conf.py", ".spectral.yaml", "redocly.yaml", "package.json")
PACKAGED_DIR = "_data"


@functools.cache
def data_dir() -> Path:
    """The folder that holds :data:`SHIPPED`: the package's ``_data`` in an installed wheel,
    otherwise the checkout the package was imported from.

    When neither has the spec (a broken install) it is the package's folder, so that the
    error a command then gives names the place the spec should be.
    """
    package = Path(str(importlib.resources.files("esdc_api")))
    packaged = package / PACKAGED_DIR
    checkout = package.parent
    if not packaged.is_dir() and all(
        (checkout / name).is_file() for name in ("pyproject.toml", "openapi/openapi.yaml")
    ):
        return checkout
    return packaged


def path(*parts: str) -> Path:
    """A shipped file or folder: ``path("openapi", "openapi.yaml")``."""
    return data_dir().joinpath(*parts)


def cache_dir(kind: str, environ: Mapping[str, str] | None = None) -> Path | None:
    """Where the toolkit keeps what it worked out of ``kind`` between runs (the spec in its
    two forms, the checks a content passed), or ``None`` to keep nothing: see
    :data:`CACHE_ENV`. What is kept there is named by a digest of what it was made from, so
    a folder may be shared and deleted at any time."""
    env = os.environ if environ is None else environ
    if CACHE_ENV in env:
        return Path(env[CACHE_ENV]) / kind if env[CACHE_ENV] else None
    base = Path(env["XDG_CACHE_HOME"]) if env.get("XDG_CACHE_HOME") else Path.home() / ".cache"
    return base / "esdc-api" / kind
