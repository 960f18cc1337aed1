"""Errors of the reference server's domain, and the HTTP answer each one gets.

::

    ApiError                      an answer in the real API's error shape
    ├── AuthenticationFailed      403, bad or missing credentials
    │   └── InactiveUser          "You do not have permission to perform this action."
    ├── PermissionDenied          403 "Permission denied"
    │   └── NotPermitted          "You do not have permission to perform this action."
    ├── NotFound                  404
    │   ├── DcNotFound            "Datacenter not found"
    │   ├── TaskNotFound          "Task does not exist"
    │   ├── DummyTask             "Task does not exist (anymore)"
    │   └── InvalidPage           "Invalid page."
    ├── MethodNotAllowed          405 'Method "X" not allowed.'
    ├── NotAcceptable             406 "Could not satisfy the request Accept header."
    ├── CannotCancel              406 "Task cannot be canceled"
    ├── UnsafeDelete              406 "Safe task deletion is not implemented"
    ├── UnknownError              406 "Unknown error" (deleting a system task)
    ├── PreconditionFailed        412 (bad order_by, bad last)
    ├── UnsupportedMediaType      415 'Unsupported media type "x" in request.'
    ├── ParseError                400 "JSON parse error - ..."
    ├── ServiceUnavailable        503 "System update in progress" (non-staff users)
    ├── ResultBackendFailed       504, 502 or 500 from Celery's result backend
    ├── FieldErrors               400 {"field": ["message", ...]}
    ├── LoginFailed               400 {"detail": ...}, without the es_* headers
    └── Throttled                 429 with Retry-After

The domain raises them; the pipeline (:mod:`mockserver.middleware`) and, under connexion,
``mockserver.app`` turn them into responses.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any


class ApiError(Exception):
    """An error with the status and body the real API answers with.

    :cvar plain: real deployments build this answer without the request, so it carries none
        of the ``es_*`` headers (a failed login).
    """

    status: HTTPStatus = HTTPStatus.BAD_REQUEST
    detail: str = "Bad request"
    plain: bool = False

    def __init__(self, detail: str | None = None) -> None:
        if detail is not None:
            self.detail = detail
        self.extra_headers: dict[str, str] = {}
        super().__init__(self.detail)

    def body(self) -> Any:
        return {"detail": self.detail}

    def headers(self) -> dict[str, str]:
        return dict(self.extra_headers)

    def with_headers(self, headers: dict[str, str]) -> ApiError:
        """The same error, answered with ``headers`` too (``es_task_response`` on a status
        answer's 404)."""
        self.extra_headers.update(headers)
        return self


class AuthenticationFailed(ApiError):
    status = HTTPStatus.FORBIDDEN
    detail = "Authentication credentials were not provided."


class InactiveUser(AuthenticationFailed):
    """An inactive account's API key: real deployments refuse it in the permission check."""

    detail = "You do not have permission to perform this action."


class PermissionDenied(ApiError):
    status = HTTPStatus.FORBIDDEN
    detail = "Permission denied"


class NotPermitted(PermissionDenied):
    """What an authenticated but inactive account gets from every endpoint that needs one."""

    detail = "You do not have permission to perform this action."


class NotFound(ApiError):
    status = HTTPStatus.NOT_FOUND
    detail = "Not found."


class DcNotFound(NotFound):
    detail = "Datacenter not found"


class TaskNotFound(NotFound):
    detail = "Task does not exist"


class DummyTask(NotFound):
    detail = "Task does not exist (anymore)"


class InvalidPage(NotFound):
    detail = "Invalid page."


class MethodNotAllowed(ApiError):
    status = HTTPStatus.METHOD_NOT_ALLOWED

    def __init__(self, method: str) -> None:
        super().__init__(f'Method "{method}" not allowed.')


class NotAcceptable(ApiError):
    status = HTTPStatus.NOT_ACCEPTABLE
    detail = "Could not satisfy the request Accept header."


class CannotCancel(ApiError):
    status = HTTPStatus.NOT_ACCEPTABLE
    detail = "Task cannot be canceled"


class UnsafeDelete(ApiError):
    status = HTTPStatus.NOT_ACCEPTABLE
    detail = "Safe task deletion is not implemented"


class UnknownError(ApiError):
    status = HTTPStatus.NOT_ACCEPTABLE
    detail = "Unknown error"


class PreconditionFailed(ApiError):
    status = HTTPStatus.PRECONDITION_FAILED


class UnsupportedMediaType(ApiError):
    """A body in a media type the operation does not parse; ``media_type`` is the
    ``Content-Type`` header as sent (empty when there is none)."""

    status = HTTPStatus.UNSUPPORTED_MEDIA_TYPE

    def __init__(self, media_type: str) -> None:
        self.media_type_sent = media_type
        super().__init__(f'Unsupported media type "{media_type}" in request.')


class ParseError(ApiError):
    """A body that is not JSON (or not UTF-8)."""

    status = HTTPStatus.BAD_REQUEST


class ServiceUnavailable(ApiError):
    status = HTTPStatus.SERVICE_UNAVAILABLE
    detail = "System update in progress"


class ResultBackendFailed(ApiError):
    """Celery's result backend failed while a task's state was read: the exception's class and
    text, with 504 for a timeout, 502 for a lost connection and 500 otherwise."""

    ANSWERS = {
        "timeout": (HTTPStatus.GATEWAY_TIMEOUT, "TimeoutError: The operation timed out."),
        "unreachable": (
            HTTPStatus.BAD_GATEWAY,
            "ConnectionError: Error 111 connecting to 127.0.0.1:6379. Connection refused.",
        ),
        "error": (HTTPStatus.INTERNAL_SERVER_ERROR, "ResponseError: the result backend failed"),
    }

    def __init__(self, kind: str) -> None:
        self.status, detail = self.ANSWERS[kind]
        super().__init__(detail)


class FieldErrors(ApiError):
    """Validation errors: each field mapped to its messages, with no ``detail`` wrapper."""

    status = HTTPStatus.BAD_REQUEST

    def __init__(self, errors: dict[str, list[str]]) -> None:
        self.errors = errors
        super().__init__(f"invalid fields: {sorted(errors)}")

    def body(self) -> Any:
        return self.errors

    def as_detail(self) -> str:
        """The errors in one line, for the control API's ``{"detail": ...}`` shape."""
        return "; ".join(f"{name}: {' '.join(texts)}" for name, texts in self.errors.items())


class LoginFailed(ApiError):
    """A refused login: a message, or missing fields as ``{"field": ["message"]}``, under
    ``detail``."""

    status = HTTPStatus.BAD_REQUEST
    detail = "Unable to log in with provided credentials."
    plain = True

    def __init__(self, detail: str | dict[str, list[str]] | None = None) -> None:
        self.fields = detail if isinstance(detail, dict) else None
        super().__init__(None if isinstance(detail, dict) else detail)

    def body(self) -> Any:
        return {"detail": self.fields if self.fields is not None else self.detail}


class Throttled(ApiError):
    """``wait`` is in whole seconds; real deployments print it as a float ("60.0 seconds.",
    "1.0 second.": Python 2's ``math.ceil``)."""

    status = HTTPStatus.TOO_MANY_REQUESTS

    def __init__(self, wait: int) -> None:
        self.wait = wait
        unit = "second" if wait == 1 else "seconds"
        super().__init__(f"Request was throttled. Expected available in {wait}.0 {unit}.")

    def headers(self) -> dict[str, str]:
        return {**super().headers(), "Retry-After": str(self.wait)}
