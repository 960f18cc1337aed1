"""Errors of the spec tooling.

::

    SpecError                 the spec cannot be read or bundled
    └── SpecNotFound          the spec's root file does not exist
"""

from pathlib import Path


class SpecError(Exception):
    """Raised when the spec cannot be read or bundled."""


class SpecNotFound(SpecError):
    """Raised when the spec's root file does not exist."""

    def __init__(self, path: Path) -> None:
        super().__init__(f"no OpenAPI spec at {str(path)!r}; pass the root file, e.g. openapi/openapi.yaml")
        self.path = path
