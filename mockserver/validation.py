"""Request validation against the spec, answering in the real API's error shapes.

:class:`ParameterRules` and :class:`JsonBodyRules` hold one operation's rules, compiled from
the spec once; the pipeline (:mod:`mockserver.dispatch`) runs them for the task API, and
connexion runs them through the validators this module plugs into its ``validator_map`` (the
control API). They raise :mod:`mockserver.errors` instead of problem+json, with the messages
and status codes real deployments use:

- a parameter with ``x-invalid`` in the spec gets that status and detail (``task_id`` 403,
  ``page`` 404, ``order_by`` and ``last`` 412);
- any other invalid parameter is reported with every other one as ``{"name": ["message"]}``
  (400), in Django's wording;
- a parameter with ``x-only-with`` is ignored, and so not checked, unless the parameter it
  names is given (the task log's filters need ``page``);
- path parameters are checked first, then field errors, then the ``x-invalid`` ones from the
  highest status down (real deployments check permissions, then the filter form, then
  ``order_by``, then the page).

The parameters, converted to Python values, go to the handlers (through connexion, in the
request scope under :data:`PARAMS_KEY`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import date
from http import HTTPStatus
from typing import Any

from connexion.datastructures import MediaTypeDict
from connexion.json_schema import Draft4RequestValidator
from connexion.validators import JSONRequestBodyValidator, ParameterValidator
from jsonschema import Draft4Validator, FormatChecker, ValidationError
from starlette.datastructures import Headers
from starlette.requests import Request as StarletteRequest
from starlette.types import Receive, Scope

from mockserver.errors import ApiError, FieldErrors

PARAMS_KEY = "esdc.params"

TRUE_VALUES = frozenset({"t", "T", "true", "True", "TRUE", "1"})
FALSE_VALUES = frozenset({"f", "F", "false", "False", "FALSE", "0"})


class ParseError(ApiError):
    """A body that is not JSON (or not UTF-8)."""

    status = HTTPStatus.BAD_REQUEST


class SpecError(ApiError):
    """An answer the spec prescribes for an invalid parameter (``x-invalid``)."""

    def __init__(self, status: int, detail: str) -> None:
        self.status = HTTPStatus(status)
        super().__init__(detail)


class Invalid(ValueError):
    """A value that does not fit its schema; the message is what the user reads."""


def _message(error: ValidationError, value: Any) -> str:
    if error.validator == "enum":
        return f"Select a valid choice. {value} is not one of the available choices."
    if error.validator == "maxLength":
        return f"Ensure this field has no more than {error.validator_value} characters."
    if error.validator == "minLength":
        return "This field may not be blank."
    if error.validator == "format" and error.validator_value == "date":
        return "Date has wrong format. Use one of these formats instead: YYYY[-MM[-DD]]."
    if error.validator == "type" and error.validator_value == "boolean":
        return "Must be a valid boolean."
    if error.validator == "type" and error.validator_value == "string":
        return "Not a valid string."
    if error.validator == "type" and error.validator_value == "integer":
        return "A valid integer is required."
    if error.validator == "required":
        return "This field is required."
    return "Enter a valid value."


def _is_date(value: object) -> bool:
    if not isinstance(value, str):
        return True
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return re.fullmatch(r"\d{4}-\d{2}-\d{2}", value) is not None


_FORMATS = FormatChecker()
_FORMATS.checkers = dict(_FORMATS.checkers)  # our own table: registering must not leak
_FORMATS.checks("date")(_is_date)


def convert(raw: str, schema: dict[str, Any]) -> Any:
    """Turn a query or path string into the schema's type, or raise :class:`Invalid`."""
    kind = schema.get("type")
    if kind == "integer":
        try:
            return int(raw.strip())
        except ValueError:
            raise Invalid("A valid integer is required.") from None
    if kind == "boolean":
        if raw in TRUE_VALUES:
            return True
        if raw in FALSE_VALUES:
            return False
        raise Invalid("Must be a valid boolean.")
    return raw


def check(value: Any, schema: dict[str, Any], validator: Draft4Validator | None = None) -> None:
    """Validate a converted value against its schema, or raise :class:`Invalid`.

    :param validator: the schema's validator, if it was compiled beforehand.
    """
    if validator is None:
        validator = Draft4Validator(schema, format_checker=_FORMATS)
    error = next(iter(validator.iter_errors(value)), None)
    if error is not None:
        raise Invalid(_message(error, value))


class ParameterRules:
    """The path and query parameters of one operation, validated in the real API's shapes.

    :param parameters: the operation's parameters as the spec lists them (path-level ones
        first), each a resolved parameter object.
    """

    def __init__(self, parameters: list[dict[str, Any]]) -> None:
        self.path = [p for p in parameters if p["in"] == "path"]
        self.query = [p for p in parameters if p["in"] == "query"]
        self._validators = [
            (p, Draft4Validator(p["schema"], format_checker=_FORMATS))
            for p in [*self.path, *self.query]
        ]

    def validate(self, path_params: Mapping[str, str], query: Mapping[str, str]) -> dict[str, Any]:
        """The parameters converted to Python values, or raise the error the API answers."""
        values: dict[str, Any] = {}
        field_errors: dict[str, list[str]] = {}
        prescribed: list[tuple[int, int, SpecError]] = []
        for param, validator in self._validators:
            name, location = param["name"], param["in"]
            raw = path_params.get(name) if location == "path" else query.get(name)
            if raw is None or (raw == "" and param.get("allowEmptyValue")):
                continue
            if param.get("x-only-with") and not query.get(param["x-only-with"]):
                continue  # ignored, so unchecked, without its mode's parameter (the log's page)
            try:
                value = convert(raw, param["schema"])
                check(value, param["schema"], validator)
            except Invalid as exc:
                answer = param.get("x-invalid")
                if answer is None:
                    field_errors[name] = [str(exc)]
                else:
                    rank = 0 if location == "path" else 1
                    prescribed.append((rank, -answer["status"], SpecError(**answer)))
                continue
            values[name] = value
        for param in self.query:
            needed = param.get("x-requires")
            if needed and values.get(param["name"]) and not values.get(needed):
                field_errors.setdefault(needed, []).append(
                    f"{needed} attribute is required when filtering by {param['name']}."
                )
        prescribed.sort(key=lambda item: item[:2])
        if prescribed and prescribed[0][0] == 0:
            raise prescribed[0][2]
        if field_errors:
            raise FieldErrors(field_errors)
        if prescribed:
            raise prescribed[0][2]
        return values


class JsonBodyRules:
    """A JSON request body: parse errors and field errors in the real API's shapes.

    A schema with ``x-errors-under-detail`` (the login form) reports its field errors under
    ``detail``, as Danube Cloud's login view does.

    :param required: the spec's ``requestBody.required``.
    :param nullable: whether the schema allows ``null``.
    """

    def __init__(self, schema: dict[str, Any], *, required: bool, nullable: bool = False) -> None:
        self.schema = schema
        self.required = required
        self.nullable = nullable
        self._validator = Draft4RequestValidator(schema, format_checker=_FORMATS)

    def check_length(self, headers: Mapping[str, str]) -> int:
        """The declared length; an empty required body is refused before it is read."""
        try:
            length = int(headers.get("content-length", 0))
        except ValueError:
            raise ParseError(
                "JSON parse error - the Content-Length header is not a number"
            ) from None
        if not length and self.required:
            self.validate({})  # names each missing field, as the real forms do
        return length

    @staticmethod
    def parse(raw: bytes) -> Any:
        """The body's JSON value, ``None`` for an empty body, or raise :class:`ParseError`."""
        if not raw.strip():
            return None
        try:
            return json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise ParseError(f"JSON parse error - the body is not UTF-8: {exc.reason}") from None
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from None

    def accept(self, raw: bytes) -> Any:
        """Parse and validate a body that was read whole; return its value."""
        body = self.parse(raw)
        if not (body is None and self.nullable):
            self.validate(body)
        return body

    def validate(self, body: Any) -> None:
        if body is None:
            if self.required:
                self.validate({})
            return
        if not isinstance(body, dict):
            kind = {list: "list", str: "str", int: "int", float: "float", bool: "bool"}
            name = kind.get(type(body), type(body).__name__)
            raise self._field_errors(
                {"non_field_errors": [f"Invalid data. Expected a dictionary, but got {name}."]}
            )
        errors: dict[str, list[str]] = {}
        for error in self._validator.iter_errors(body):
            if error.validator == "required":
                for name in error.validator_value:
                    if name not in body:
                        errors[name] = ["This field is required."]
            elif error.validator == "additionalProperties" and not error.path:
                allowed = set(error.schema.get("properties", {}))
                for name in sorted(set(body) - allowed):
                    errors[name] = ["This field is not allowed."]
            elif error.path:
                name = str(error.path[0])
                errors.setdefault(name, []).append(_message(error, error.instance))
            else:
                errors.setdefault("non_field_errors", []).append(_message(error, body))
        if errors:
            raise self._field_errors(errors)

    def _field_errors(self, errors: dict[str, list[str]]) -> ApiError:
        if self.schema.get("x-errors-under-detail"):
            return _DetailFieldErrors(errors)
        return FieldErrors(errors)


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


class EsdcJSONBodyValidator(JSONRequestBodyValidator):  # type: ignore[misc]
    """:class:`JsonBodyRules` plugged into connexion."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rules = JsonBodyRules(self._schema, required=self._required, nullable=self._nullable)

    async def wrap_receive(self, receive: Receive, *, scope: Scope) -> tuple[Receive, Scope]:
        self.rules.check_length(Headers(scope=scope))
        return await super().wrap_receive(receive, scope=scope)  # type: ignore[no-any-return]

    async def _parse(self, stream: Any, scope: Scope) -> Any:
        return self.rules.parse(b"".join([chunk async for chunk in stream]))

    def _validate(self, body: Any) -> Any:
        self.rules.validate(body)
        return None


class _DetailFieldErrors(FieldErrors):
    def body(self) -> Any:
        return {"detail": self.errors}


VALIDATOR_MAP = {
    "parameter": EsdcParameterValidator,
    "body": MediaTypeDict({"*/*json": EsdcJSONBodyValidator}),
}
