"""Request bodies of the task API, read as real deployments read them.

:class:`BodyRules` holds one operation's rules, compiled from the spec once; the pipeline
(:mod:`mockserver.middleware`) reads the body with them before it resolves the datacenter,
as the real ``request_data`` does. By the request body's rules in the spec:

- ``x-ignore-unreadable`` (cancel, delete): a body that is not JSON, not JSON content or not an
  object counts as ``{}``, as the real ``request_data`` swallows it; fields are read as the
  real serializer reads them (``{"force": "no"}`` is true);
- otherwise (login): a body in another media type is 415, one that does not parse 400
  ``JSON parse error - ...``, and the fields are Django REST framework's: a missing, ``null``
  or empty string field "is required", any other value is read as text.

Under connexion (the control API, and the task API when connexion checks answers, which then
gets the body :class:`BodyRules` read, as JSON), :class:`JsonBodyRules` validates JSON bodies
in the real API's shapes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from connexion.datastructures import MediaTypeDict
from connexion.json_schema import Draft4RequestValidator
from connexion.validators import JSONRequestBodyValidator
from starlette.datastructures import Headers
from starlette.types import Message, Receive, Scope

from mockserver.errors import (
    ApiError,
    FieldErrors,
    LoginFailed,
    ParseError,
    UnsupportedMediaType,
)
from mockserver.validation import (
    FORMATS,
    REQUIRED,
    EsdcParameterValidator,
    as_text,
    boolean_value,
    message,
)


def is_json(content_type: str | None) -> bool:
    """Whether a ``Content-Type`` is one the JSON parser takes (wildcards included)."""
    main, _, sub = (content_type or "").split(";")[0].strip().lower().partition("/")
    return main in ("application", "*") and sub in ("json", "*")


def parse_json(raw: bytes) -> Any:
    """The body's JSON value, or raise :class:`ParseError` with the real message."""
    try:
        return json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ParseError(f"JSON parse error - the body is not UTF-8: {exc.reason}") from None
    except (ValueError, RecursionError) as exc:  # nested deeper than the parser goes
        raise ParseError(f"JSON parse error - {exc}") from None


class BodyRules:
    """The JSON request body of one operation, read as real deployments read it.

    :param request_body: the operation's ``requestBody``, resolved.
    """

    def __init__(self, request_body: dict[str, Any]) -> None:
        content = request_body.get("content", {})
        self.schema: dict[str, Any] = content.get("application/json", {}).get("schema", {})
        self.lenient = bool(request_body.get("x-ignore-unreadable"))
        self.properties: dict[str, Any] = self.schema.get("properties", {})
        self.required = frozenset(self.schema.get("required", ()))

    def read(self, content_type: str | None, raw: bytes) -> dict[str, Any]:
        """The body's fields, read and checked; raise the error the API answers."""
        return self._lenient(content_type, raw) if self.lenient else self._strict(content_type, raw)

    def _lenient(self, content_type: str | None, raw: bytes) -> dict[str, Any]:
        body: Any = {}
        if raw and is_json(content_type):
            try:
                body = parse_json(raw)
            except ParseError:
                body = {}
        if not isinstance(body, dict):  # x-known-defects: body-not-an-object
            body = {}
        fields: dict[str, Any] = {}
        for name, prop in self.properties.items():
            if name in body:
                value = body[name]
                if prop.get("type") == "boolean":
                    value = boolean_value(value)
                elif prop.get("type") == "string" and value is not None:
                    value = as_text(value)
                fields[name] = value
        return fields

    def _strict(self, content_type: str | None, raw: bytes) -> dict[str, Any]:
        body: Any = {}
        if raw:
            if not is_json(content_type):
                raise UnsupportedMediaType(content_type or "")
            body = parse_json(raw)
        if not isinstance(body, dict):  # x-known-defects: body-not-an-object
            raise LoginFailed("Invalid data")
        fields: dict[str, Any] = {}
        errors: dict[str, list[str]] = {}
        for name, prop in self.properties.items():
            value = body.get(name)
            if prop.get("type") == "string":
                value = as_text(value)
            if name in self.required and value in ("", None):
                errors[name] = [REQUIRED]
            elif name in body:
                fields[name] = value
        if errors:
            raise LoginFailed(errors)
        return fields


class JsonBodyRules:
    """A JSON request body as connexion hands it over (the control API; the task API's bodies
    arrive read by :class:`BodyRules` already): parse errors and field errors in the real API's
    shapes.

    A schema with ``x-errors-under-detail`` (the login form) reports its field errors under
    ``detail``, as Danube Cloud's login view does.

    :param required: the spec's ``requestBody.required``.
    :param nullable: whether the schema allows ``null``.
    """

    def __init__(self, schema: dict[str, Any], *, required: bool, nullable: bool = False) -> None:
        self.schema = schema
        self.required = required
        self.nullable = nullable
        self._validator = Draft4RequestValidator(schema, format_checker=FORMATS)

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
        return None if not raw.strip() else parse_json(raw)

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
                errors.setdefault(name, []).append(message(error, error.instance))
            else:
                errors.setdefault("non_field_errors", []).append(message(error, body))
        if errors:
            raise self._field_errors(errors)

    def _field_errors(self, errors: dict[str, list[str]]) -> ApiError:
        if self.schema.get("x-errors-under-detail"):
            return LoginFailed(errors)
        return FieldErrors(errors)


#: How deep a control-API body may nest. What it holds is stored and rendered again (a task's
#: ``result``, its ``params``), and the renderer, like the parser, stops at Python's recursion
#: limit: a value it cannot render again is refused when it comes.
CONTROL_MAX_DEPTH = 100


def _depth_over(value: Any, limit: int) -> bool:
    """Whether ``value`` nests deeper than ``limit`` (walked without recursion)."""
    stack = [(value, 1)]
    while stack:
        node, level = stack.pop()
        if not isinstance(node, dict | list):
            continue
        if level > limit:
            return True
        children = node.values() if isinstance(node, dict) else node
        stack.extend((child, level + 1) for child in children)
    return False


class ControlBodyRules(JsonBodyRules):
    """A control-API body: JSON the server can store. Not nested deeper than
    :data:`CONTROL_MAX_DEPTH` and with no lone surrogate (``"\\ud800"`` parses, but is not
    text SQLite can hold)."""

    def check_length(self, headers: Mapping[str, str]) -> int:
        length = super().check_length(headers)
        if not length and self.required:
            raise ParseError("the request needs a JSON body (Content-Type: application/json)")
        return length

    def parse(self, raw: bytes) -> Any:  # type: ignore[override]
        value = JsonBodyRules.parse(raw)
        if value is None and raw.strip() and not self.nullable:
            raise self._field_errors(
                {"non_field_errors": ["Invalid data. Expected a dictionary, but got null."]}
            )
        # Both checks look at the raw bytes first (in C), so a plain body costs nothing more.
        if raw.count(b"[") + raw.count(b"{") > CONTROL_MAX_DEPTH and _depth_over(
            value, CONTROL_MAX_DEPTH
        ):
            raise ParseError(
                f"the body nests deeper than {CONTROL_MAX_DEPTH} levels, more than the server "
                "stores; flatten it"
            )
        if b"\\u" in raw:
            try:
                json.dumps(value, ensure_ascii=False).encode("utf-8")
            except UnicodeEncodeError as exc:
                bad = exc.object[exc.start : exc.end]
                raise ParseError(
                    f"the body holds a lone surrogate ({bad.encode('unicode_escape').decode()}), "
                    "which is not text; send the character it stands for, or a pair"
                ) from None
        return value


class EsdcJSONBodyValidator(JSONRequestBodyValidator):  # type: ignore[misc]
    """:class:`JsonBodyRules` plugged into connexion."""

    rules_class: type[JsonBodyRules] = JsonBodyRules

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rules = self.rules_class(
            self._schema, required=self._required, nullable=self._nullable
        )

    async def wrap_receive(self, receive: Receive, *, scope: Scope) -> tuple[Receive, Scope]:
        headers = Headers(scope=scope)
        if "content-length" not in headers and "transfer-encoding" in headers:
            # Chunked: connexion goes by Content-Length, so read the body and say how long it is.
            receive, scope = await _whole(receive, scope)
            headers = Headers(scope=scope)
        self.rules.check_length(headers)
        return await super().wrap_receive(receive, scope=scope)  # type: ignore[no-any-return]

    async def _parse(self, stream: Any, scope: Scope) -> Any:
        return self.rules.parse(b"".join([chunk async for chunk in stream]))

    def _validate(self, body: Any) -> Any:
        self.rules.validate(body)
        return None


async def read_body(receive: Receive) -> bytes:
    """The whole request body, however it arrives (chunked too)."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def _whole(receive: Receive, scope: Scope) -> tuple[Receive, Scope]:
    """The body read whole, given again by the ``receive`` returned, and the scope saying its
    length instead of how it was sent."""
    body = await read_body(receive)
    headers = [
        (name, value)
        for name, value in scope["headers"]
        if name not in (b"transfer-encoding", b"content-length")
    ]
    headers.append((b"content-length", str(len(body)).encode()))
    given = False

    async def replay() -> Message:
        nonlocal given
        if given:
            return await receive()  # the disconnect, when it comes
        given = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay, {**scope, "headers": headers}


class ControlJSONBodyValidator(EsdcJSONBodyValidator):
    """:class:`ControlBodyRules` plugged into connexion."""

    rules_class = ControlBodyRules


VALIDATOR_MAP = {
    "parameter": EsdcParameterValidator,
    "body": MediaTypeDict({"*/*json": EsdcJSONBodyValidator}),
}
#: The control API's: its bodies are stored as they come.
CONTROL_VALIDATOR_MAP = {
    "parameter": EsdcParameterValidator,
    "body": MediaTypeDict({"*/*json": ControlJSONBodyValidator}),
}
