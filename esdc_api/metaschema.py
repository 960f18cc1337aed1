"""The OpenAPI 3.0 meta-schema check of openapi-spec-validator, with each error's source.

openapi-spec-validator checks a document in two passes: the document against the OpenAPI 3.0
JSON schema, then its own rules (path parameters, ``required`` lists, defaults, duplicates)
that report errors without a path. We run both on the document of a
:class:`~esdc_api.sourcemap.SourceMap` and place each error in a source file:

- the first pass runs on the pure-Python jsonschema backend, whose errors keep the errors of
  each ``oneOf`` branch; the Rust backend, chosen when jsonschema-rs is installed (schemathesis
  brings it), reports a response with a bad schema deep inside as one "not valid under any of
  the given schemas" with the whole response printed;
- each rule of the second pass is wrapped so that an error it yields is tagged with the node
  the rule was looking at.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from typing import Any

from jsonschema.exceptions import ValidationError
from jsonschema.validators import validator_for
from jsonschema_path import SchemaPath
from openapi_spec_validator import OpenAPIV30SpecValidator
from openapi_spec_validator.schemas import schema_v30
from openapi_spec_validator.validation import keywords
from openapi_spec_validator.validation.exceptions import DuplicateOperationIDError
from referencing.exceptions import Unresolvable

from esdc_api.schema_errors import first_line, leaf_errors
from esdc_api.sourcemap import Origin, SourceMap

# The attribute under which a tagged error carries the node a rule was looking at.
_NODE = "esdc_node"


def check(source: SourceMap) -> Iterator[tuple[Origin, str]]:
    """Each meta-schema error of ``source.document``: where it is and what is wrong."""
    definitions = {id(schema): name for name, schema in schema_v30["definitions"].items()}
    errors = _validator_class()(source.document).iter_errors()
    while True:
        try:
            error = next(errors)
        except StopIteration:
            return
        except Unresolvable:
            # The rules of the second pass follow each $ref; they stop at the first one that
            # does not resolve, which the caller reports. The schema pass has run in full.
            return
        if isinstance(error, DuplicateOperationIDError):
            continue  # esdc_api.lint reports it, at the operationId rather than the operation
        node = getattr(error, _NODE, None)
        for leaf in leaf_errors(error):
            where = source.locate(leaf.absolute_path, start=node)
            definition = definitions.get(id(leaf.schema))
            suffix = f" (OpenAPI 3.0 {definition} object)" if definition else ""
            unknown = _unknown_fields(leaf)
            if unknown:
                for name in unknown:
                    yield (
                        where.child(name),
                        f"unknown field {name!r}{suffix}; only x- extensions may be added",
                    )
            else:
                yield where, first_line(leaf.message) + suffix


def _unknown_fields(error: ValidationError) -> list[str]:
    """The fields an ``additionalProperties: false`` error is about (jsonschema lists them only
    in its message)."""
    if error.validator != "additionalProperties" or error.validator_value is not False:
        return []
    if not isinstance(error.instance, dict) or not isinstance(error.schema, dict):
        return []
    known = error.schema.get("properties", {})
    patterns = error.schema.get("patternProperties", {})
    return [
        name
        for name in error.instance
        if name not in known and not any(re.search(pattern, name) for pattern in patterns)
    ]


@functools.cache
def _validator_class() -> type[OpenAPIV30SpecValidator]:
    # Built on first use: reading the meta-schema at import time would slow `esdc-api --help`.
    tagging = {
        name: _tagging(rule) for name, rule in OpenAPIV30SpecValidator.keyword_validators.items()
    }
    return type(
        "LocatingSpecValidator",
        (OpenAPIV30SpecValidator,),
        {
            "schema_validator": validator_for(schema_v30)(schema_v30),
            "keyword_validators": tagging,
        },
    )


def _tagging(rule: type[keywords.KeywordValidator]) -> type[keywords.KeywordValidator]:
    """``rule`` changed to tag each untagged error it yields with the node it was called on."""

    def __call__(self: Any, *args: Any, **kwargs: Any) -> Iterator[ValidationError]:
        node = next((arg.read_value() for arg in args if isinstance(arg, SchemaPath)), None)
        for error in rule.__call__(self, *args, **kwargs):
            if node is not None and getattr(error, _NODE, None) is None:
                setattr(error, _NODE, node)
            yield error

    return type(rule.__name__, (rule,), {"__call__": __call__})
