"""The optional parts of the toolkit, and what a subcommand says when its part is missing.

``pip install esdc-api-toolkit`` brings the reference server, ``es`` and ``esdc-api bundle``.
The other subcommands need an extra (``pyproject.toml`` lists what each brings); each checks
for it before it imports anything heavy, so that a missing one is a line naming the
``pip install`` that brings it, not a traceback.
"""

from __future__ import annotations

import importlib.util

from esdc_api.errors import ToolkitError

DISTRIBUTION = "esdc-api-toolkit"
#: The modules each extra brings that its subcommand imports.
EXTRAS: dict[str, tuple[str, ...]] = {
    "lint": ("openapi_spec_validator", "openapi_schema_validator"),
    "docs": (
        "sphinx",
        "sphinxcontrib.httpdomain",
        "sphinx_design",
        "markdown_it",
        "openapi_schema_validator",
    ),
    "check": ("schemathesis", "pytest", "openapi_schema_validator"),
}


class MissingExtra(ToolkitError):
    """Raised when a subcommand's extra is not installed."""

    def __init__(self, command: str, extra: str, missing: list[str]) -> None:
        super().__init__(
            f"esdc-api {command} needs the toolkit's {extra!r} extra ({missing[0]} is not "
            f"installed): pip install '{DISTRIBUTION}[{extra}]'"
        )
        self.extra = extra
        self.missing = missing


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a missing parent package; a module set to None
        return False


def require(extra: str, command: str | None = None) -> None:
    """Make sure the modules of ``extra`` can be imported.

    :param command: the subcommand that needs it, for the message (default: ``extra``).
    :raises MissingExtra: naming the first missing module and the ``pip install`` to run.
    """
    missing = [module for module in EXTRAS[extra] if not _installed(module)]
    if missing:
        raise MissingExtra(command or extra, extra, missing)
