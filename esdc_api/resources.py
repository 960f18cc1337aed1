"""Where the toolkit finds the files it ships: the spec, the docs sources, the linters' settings.

They live at the top of the repository (``openapi/``, ``docs/``, ``conf.py``, ...), which stays
their only source. A wheel carries a copy of them in the package, as ``esdc_api/_data/``
(``setup.py`` copies them there while it builds); a checkout, and an editable install of it,
reads them where they are, so that an edit shows at once. :func:`data_dir` tells which.
"""

from __future__ import annotations

import functools
import importlib.resources
from pathlib import Path

#: What ``setup.py`` copies into the package, as paths from the repository's root.
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
