"""Errors of the docs build.

::

    sphinx.errors.SphinxError
    └── DocsError              the docs cannot be built from the spec as it stands
        ├── SpecGap            the spec lacks something the docs need, or contradicts itself
        └── ExamplesFailed     an es example answered otherwise than the spec promises

They derive from Sphinx's own base class so that Sphinx reports them as they are (a plain
exception raised in an event handler would be wrapped in a traceback-like "Extension error").
"""

from __future__ import annotations

from collections.abc import Sequence

from sphinx.errors import SphinxError


class DocsError(SphinxError):
    """Raised when the docs cannot be built from the spec as it stands."""

    category = "esdc-api docs"


class SpecGap(DocsError):
    """Raised when the spec lacks something the docs need, or contradicts itself."""


class ExamplesFailed(DocsError):
    """Raised when es examples answered otherwise than the spec promises.

    :param failures: one line per failed example, each naming the endpoint and the command.
    """

    def __init__(self, failures: Sequence[str]) -> None:
        count = f"{len(failures)} es example{'s' if len(failures) != 1 else ''}"
        lines = "\n".join(f"- {failure}" for failure in failures)
        super().__init__(
            f"{count} did not answer as the spec says:\n{lines}\n"
            "Fix the spec (openapi/) or the reference server (mockserver/) so that they agree."
        )
        self.failures = list(failures)
