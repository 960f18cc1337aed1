"""Errors of the reference server's domain, and the HTTP answer each one gets.

::

    ApiError                      an answer in the real API's error shape
    ├── AuthenticationFailed      403, bad or missing credentials
    │   └── InactiveUser          "You do not have permission to perform this action."
    ├── PermissionDenied          403 "Permission denied"
    ├── NotFound                  404
    │   ├── DcNotFound            "Datacenter not found"
    │   ├── TaskNotFound          "Task does not exist"
    │   ├── DummyTask             "Task does not exist (anymore)"
    │   └── InvalidPage           "Invalid page."
    ├── CannotCancel              406 "Task cannot be canceled"
    ├── UnsafeDelete              406 "Safe task deletion is not implemented"
    ├── UnknownError              406 "Unknown error" (deleting a system task)
    ├── PreconditionFailed        412 (bad order_by, bad last)
    ├── ServiceUnavailable        503 "System update in progress" (non-staff users)
    ├── ResultBackendFailed       504, 502 or 500 from Celery's result backend
    ├── FieldErrors               400 {"field": ["message", ...]}
    ├── LoginFailed               400 {"detail": ...}
    └── Throttled                 429 with Retry-After

The domain raises them; ``mockserver.app`` turns them into responses in one place.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any


class ApiError(Exception):
    """An error with the status and body the real API answers with."""

    status: HTTPStatus = HTTPStatus.BAD_REQUEST
    detail: str = "Bad request"

    def __init__(self, detail: str | None = None) -> None:
        if detail is not None:
            self.detail = detail
        super().__init__(self.detail)

    def body(self) -> Any:
        return {"detail": self.detail}

    def headers(self) -> dict[str, str]:
        return {}


class AuthenticationFailed(ApiError):
    status = HTTPStatus.FORBIDDEN
    detail = "Authentication credentials were not provided."


class InactiveUser(AuthenticationFailed):
    """An inactive account's API key: real deployments refuse it in the permission check."""

    detail = "You do not have permission to perform this action."


class PermissionDenied(ApiError):
    status = HTTPStatus.FORBIDDEN
    detail = "Permission denied"


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


class LoginFailed(ApiError):
    status = HTTPStatus.BAD_REQUEST
    detail = "Unable to log in with provided credentials."


class Throttled(ApiError):
    status = HTTPStatus.TOO_MANY_REQUESTS

    def __init__(self, wait: int) -> None:
        self.wait = wait
        super().__init__(f"Request was throttled. Expected available in {wait} seconds.")

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.wait)}
