"""Errors of the spec tooling.

::

    ToolkitError
    ├── SpecError             the spec cannot be read or bundled
    │   └── SpecNotFound      the spec's root file does not exist
    ├── ExternalToolError     Spectral or Redocly could not be run, or their report not read
    │   └── MissingTools      ... because they are not installed (esdc_api.external_lint)
    └── MissingExtra          a subcommand's extra is not installed (esdc_api.extras)
"""

from pathlib import Path


class ToolkitError(Exception):
    """The base of the errors of the spec tooling."""


class SpecError(ToolkitError):
    """Raised when the spec cannot be read or bundled."""


class SpecNotFound(SpecError):
    """Raised when the spec's root file does not exist."""

    def __init__(self, path: Path) -> None:
        super().__init__(
            f"no OpenAPI spec at {str(path)!r}; pass the root file, e.g. openapi/openapi.yaml"
        )
        self.path = path


class ExternalToolError(ToolkitError):
    """Raised when Spectral or Redocly cannot be run, or what they print is not their report."""

    def __init__(self, tool: str, message: str) -> None:
        super().__init__(f"{tool}: {message}")
        self.tool = tool
