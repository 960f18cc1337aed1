"""Request validation against the spec, as lenient and in the words real deployments are.

:class:`ParameterRules` holds one operation's parameter rules, compiled from the spec once;
the pipeline (:mod:`mockserver.dispatch`) runs them for the task API, and connexion runs them
through :class:`EsdcParameterValidator` (the control API). They raise :mod:`mockserver.errors`
instead of problem+json, with the messages and status codes real deployments use. Request
bodies are read by :mod:`mockserver.bodies`.

Parameters, after the datacenter and the permission were checked:

- a value is read as Django reads it: a boolean is false for ``f``, ``F``, ``false``,
  ``False``, ``FALSE`` and ``0`` and true for any other non-empty value; a date is Django's
  ``parse_date`` (``2026-1-5`` is fine); an integer is Python's ``int()``;
- a parameter with ``x-invalid`` in the spec gets that status and detail (``page`` 404,
  ``order_by`` and ``last`` 412);
- any other invalid parameter is reported with every other one as ``{"name": ["message"]}``
  (400), in Django's wording; ``x-requires`` (``object_name`` needs ``object_type``) is checked
  only when no field has an error, as the real form's ``validate()`` runs only then;
- a parameter with ``x-only-with`` is ignored, and so not checked, unless the parameter it
  names is given (the task log's filters need ``page``);
- field errors come first, then the ``x-invalid`` ones from the highest status down (real
  deployments run the filter form, then read ``order_by``, then the page).

The parameters, converted to Python values, go to the handlers (through connexion, in the
request scope under :data:`PARAMS_KEY`).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from datetime import date
from http import HTTPStatus
from typing import Any

from connexion.validators import ParameterValidator
from jsonschema import Draft4Validator, FormatChecker, ValidationError
from jsonschema.exceptions import best_match
from starlette.requests import Request as StarletteRequest
from starlette.types import Scope

from mockserver.errors import ApiError, FieldErrors

PARAMS_KEY = "esdc.params"

#: How Django REST framework 2 spells booleans (``api/fields.py``); anything else is
#: ``bool(value)``.
TRUE_VALUES = frozenset({"t", "T", "true", "True", "TRUE", "1"})
FALSE_VALUES = frozenset({"f", "F", "false", "False", "FALSE", "0"})
REQUIRED = "This field is required."
_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})$", re.ASCII)


class SpecError(ApiError):
    """An answer the spec prescribes for an invalid parameter (``x-invalid``)."""

    def __init__(self, status: int, detail: str) -> None:
        self.status = HTTPStatus(status)
        super().__init__(detail)


class Invalid(ValueError):
    """A value that does not fit its schema; the message is what the user reads."""


def boolean_value(value: Any) -> bool:
    """A value as Django REST framework's ``BooleanField`` reads it: its true and false
    spellings, then plain truth (``"no"`` is true). Real deployments fail on a list or an
    object (``x-known-defects``: ``force-not-a-scalar``); it reads as false here."""
    if isinstance(value, list | dict):
        return False
    if value is True or value is False:
        return value
    if isinstance(value, str):
        if value in TRUE_VALUES:
            return True
        if value in FALSE_VALUES:
            return False
    return bool(value)


def parse_date(value: str) -> date | None:
    """Django's ``parse_date``: ``YYYY-M-D`` with one- or two-digit month and day, or
    ``None``."""
    found = _DATE.match(value)
    if found is None:
        return None
    try:
        return date(*(int(part) for part in found.groups()))
    except ValueError:
        return None


def as_text(value: Any) -> str:
    """A JSON value as Python 2's ``unicode()`` writes it (``True``, ``5``, ``1.5``)."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    return str(value)


def message(error: ValidationError, value: Any) -> str:
    if error.validator == "enum":
        return f"Select a valid choice. {value} is not one of the available choices."
    if error.validator == "maxLength":
        limit = error.validator_value
        return (
            f"Ensure this value has at most {limit} character{'' if limit == 1 else 's'} "
            f"(it has {len(value)})."
        )
    if error.validator == "minLength":
        return REQUIRED
    if error.validator == "format" and error.validator_value == "date":
        return "Date has wrong format. Use one of these formats instead: YYYY[-MM[-DD]]"
    if error.validator == "type" and error.validator_value == "boolean":
        return "Must be a valid boolean."
    if error.validator == "type" and error.validator_value == "string":
        return "Not a valid string."
    if error.validator == "type" and error.validator_value == "integer":
        return "A valid integer is required."
    if error.validator == "required":
        return REQUIRED
    if error.validator in ("anyOf", "oneOf") and error.context:
        return _choices(error)
    return "Enter a valid value."


def _choices(error: ValidationError) -> str:
    """What a value that fits none of its schema's choices lacks for each (only the control
    API's bodies have choices: a world file or a deployment export), so that the caller sees
    the mistake, not just that there is one."""
    by_choice: dict[int, list[ValidationError]] = {}
    for sub in error.context or ():
        by_choice.setdefault(int(sub.schema_path[0]), []).append(sub)
    parts = []
    for index, errors in sorted(by_choice.items()):
        title = error.validator_value[index].get("title") or f"choice {index + 1}"
        best = best_match(errors)
        assert best is not None  # each choice here has an error
        where = "".join(
            f"[{step}]" if isinstance(step, int) else f".{step}" for step in best.relative_path
        ).lstrip(".")
        parts.append(f"as a {title}, {f'{where}: ' if where else ''}{best.message}")
    return "Enter a valid value: " + "; ".join(parts) + "."


def _is_date(value: object) -> bool:
    return not isinstance(value, str) or parse_date(value) is not None


FORMATS = FormatChecker()
FORMATS.checkers = dict(FORMATS.checkers)  # our own table: registering must not leak
FORMATS.checks("date")(_is_date)


def convert(raw: str, schema: dict[str, Any]) -> Any:
    """Turn a query or path string into the schema's type, or raise :class:`Invalid`."""
    kind = schema.get("type")
    if kind == "integer":
        # Python 2's int(): surrounding whitespace and a sign, but no "1_000"
        try:
            if "_" in raw:
                raise ValueError(raw)
            return int(raw)
        except ValueError:
            raise Invalid("A valid integer is required.") from None
    if kind == "boolean":
        return boolean_value(raw)
    return raw


def check(value: Any, schema: dict[str, Any], validator: Draft4Validator | None = None) -> None:
    """Validate a converted value against its schema, or raise :class:`Invalid`.

    :param validator: the schema's validator, if it was compiled beforehand.
    """
    if validator is None:
        validator = Draft4Validator(schema, format_checker=FORMATS)
    error = next(iter(validator.iter_errors(value)), None)
    if error is not None:
        raise Invalid(message(error, value))


#: How many values of each parameter keep their verdict (a client polls the same few).
_KNOWN_VALUES = 256


Verdict = tuple[Any, Invalid | None]


def _verdict(raw: str, *, schema: dict[str, Any], validator: Draft4Validator) -> Verdict:
    """``raw`` converted and checked: the value, or the error it gets."""
    try:
        value = convert(raw, schema)
        check(value, schema, validator)
    except Invalid as exc:
        return None, exc
    return value, None


class ParameterRules:
    """The path and query parameters of one operation, validated in the real API's shapes.

    :param parameters: the operation's parameters as the spec lists them (path-level ones
        first), each a resolved parameter object.
    """

    def __init__(self, parameters: list[dict[str, Any]]) -> None:
        self.path = [p for p in parameters if p["in"] == "path"]
        self.query = [p for p in parameters if p["in"] == "query"]
        #: Each parameter with its verdict on a value, kept for the last values (a value's
        #: verdict depends on the value alone, and a client polls the same few).
        self._validators: list[tuple[dict[str, Any], Callable[[str], Verdict]]] = [
            (
                p,
                functools.lru_cache(maxsize=_KNOWN_VALUES)(
                    functools.partial(
                        _verdict,
                        schema=p["schema"],
                        validator=Draft4Validator(p["schema"], format_checker=FORMATS),
                    )
                ),
            )
            for p in [*self.path, *self.query]
        ]

    def validate(self, path_params: Mapping[str, str], query: Mapping[str, str]) -> dict[str, Any]:
        """The parameters converted to Python values, or raise the error the API answers.

        A repeated query parameter counts with its last value, as Django's ``QueryDict.get``
        reads it (``query`` is such a mapping).
        """
        values: dict[str, Any] = {}
        field_errors: dict[str, list[str]] = {}
        prescribed: list[tuple[int, int, SpecError]] = []
        for param, verdict_of in self._validators:
            name, location = param["name"], param["in"]
            raw = path_params.get(name) if location == "path" else query.get(name)
            if raw is None or (raw == "" and param.get("allowEmptyValue")):
                continue
            if param.get("x-only-with") and not query.get(param["x-only-with"]):
                continue  # ignored, so unchecked, without its mode's parameter (the log's page)
            value, exc = verdict_of(raw)
            if exc is not None:
                answer = param.get("x-invalid")
                if answer is None:
                    field_errors[name] = [str(exc)]
                else:
                    rank = 0 if location == "path" else 1
                    prescribed.append((rank, -answer["status"], SpecError(**answer)))
                continue
            values[name] = value
        if not field_errors:
            for param in self.query:
                needed = param.get("x-requires")
                if needed and values.get(param["name"]) and not values.get(needed):
                    field_errors[needed] = [
                        f"{needed} attribute is required when filtering by {param['name']}."
                    ]
        prescribed.sort(key=lambda item: item[:2])
        if prescribed and prescribed[0][0] == 0:
            raise prescribed[0][2]
        if field_errors:
            raise FieldErrors(field_errors)
        if prescribed:
            raise prescribed[0][2]
        return values


class EsdcParameterValidator(ParameterValidator):  # type: ignore[misc]
    """:class:`ParameterRules` plugged into connexion (the control API, and the task API when
    responses are validated too)."""

    def validate(self, scope: Scope) -> None:
        # The raw strings: connexion's own request would hand over values it already coerced.
        request = StarletteRequest(scope)
        rules = ParameterRules(
            [*self.parameters.get("path", []), *self.parameters.get("query", [])]
        )
        request.scope[PARAMS_KEY] = rules.validate(request.path_params, request.query_params)
