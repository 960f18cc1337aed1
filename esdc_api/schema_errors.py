"""jsonschema validation errors, reduced to the ones that say what is wrong.

A value that fails a ``oneOf`` or ``anyOf`` gets one error for the whole value, with the
errors of every branch in its ``context``. Reported as is, it says "not valid under any of the
given schemas" and prints the value. :func:`leaf_errors` replaces it by the errors of the branch
the value most likely meant, recursively.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import groupby

from jsonschema.exceptions import ValidationError


def leaf_errors(error: ValidationError) -> list[ValidationError]:
    """The errors under ``error`` that point at what is wrong; ``[error]`` if it has no branches."""
    if not error.context:
        return [error]
    branches = [list(errors) for _, errors in groupby(error.context, key=_branch)]
    meant = [errors for errors in branches if not _is_reference_branch(errors)] or branches
    fewest = min(meant, key=len)
    return [leaf for branch_error in fewest for leaf in leaf_errors(branch_error)]


def _branch(error: ValidationError) -> object:
    return error.relative_schema_path[0] if error.relative_schema_path else None


def _is_reference_branch(errors: Iterable[ValidationError]) -> bool:
    """The branch of an OpenAPI Reference Object, for a value without ``$ref``: not meant."""
    return any(
        error.validator == "required"
        and isinstance(error.validator_value, list)
        and "$ref" in error.validator_value
        and not error.relative_path
        for error in errors
    )


def first_line(message: str, limit: int = 200) -> str:
    """The first line of a jsonschema message, which may go on to print a whole schema."""
    first = message.splitlines()[0] if message else "invalid"
    return first if len(first) <= limit else first[: limit - 3] + "..."
