"""Exit codes of ``es`` and the errors that end a run early.

The codes are those of Danube Cloud's own ``es`` (v1.3.3), so scripts written against it keep
working. Every error carries the code it exits with; :func:`esdc_api.es.run` writes its message
on stderr as one line and returns the code, never a traceback.

::

    EsError                   base class; ``exit_code`` says how es exits
    ├── UsageError            11  the command line cannot be understood
    │   ├── UnknownAction     11  the first word is not an action (get, create, set, ...)
    │   ├── BadParameter      11  a json:: or file:: value cannot be read; names the parameter
    │   └── BadSetting        11  an ES_* environment variable has a value es cannot use
    ├── MissingResource       12  no /resource after an action that needs one
    ├── UnknownFormat         13  --<format> is not an output format es knows
    ├── RequestFailed          3  no HTTP answer: connection refused, timeout, TLS, ...
    └── LoginFailed            4  the login answer has no token, or it cannot be stored
"""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    """How ``es`` exits; the numbers are the original's."""

    OK = 0  #: the answer's status is below 400
    CLIENT_ERROR = 1  #: the answer's status is 4xx
    SERVER_ERROR = 2  #: the answer's status is 5xx
    REQUEST_FAILED = 3  #: there was no answer
    LOGIN_FAILED = 4  #: a login answer without a token
    INTERRUPTED = 5  #: Ctrl-C
    OUTPUT_ENCODING = 8  #: the output cannot be encoded for stdout
    OUTPUT_FAILED = 9  #: the output cannot be written
    USAGE = 11  #: a bad action, argument, parameter or setting
    MISSING_RESOURCE = 12  #: an action that needs a /resource got none
    UNKNOWN_FORMAT = 13  #: an output format es does not know

    @classmethod
    def for_status(cls, status: int) -> ExitCode:
        """The exit code for an HTTP answer with ``status``."""
        if status < 400:
            return cls.OK
        if status < 500:
            return cls.CLIENT_ERROR
        return cls.SERVER_ERROR


class EsError(Exception):
    """Base class of the errors that end a run of ``es`` with :attr:`exit_code`."""

    exit_code: ExitCode = ExitCode.USAGE


class UsageError(EsError):
    """Raised when the command line cannot be understood."""

    exit_code = ExitCode.USAGE


class UnknownAction(UsageError):
    """Raised when the first argument is not an action."""

    def __init__(self, action: str, actions: list[str]) -> None:
        problem = f"unknown action {action!r}" if action else "no action"
        # listed by the original's docs, but its script calls it help
        if action.lower() == "options":
            problem += " (help sends OPTIONS)"
        super().__init__(f"{problem}; start with one of {', '.join(actions)} (es --help)")
        self.action = action


class BadParameter(UsageError):
    """Raised when a ``json::`` or ``file::`` parameter value cannot be read."""

    def __init__(self, name: str, value: str, reason: str) -> None:
        super().__init__(f"parameter -{name}: cannot use {value!r}: {reason}")
        self.name = name
        self.value = value


class BadSetting(UsageError):
    """Raised when an ``ES_*`` environment variable has a value es cannot use."""

    def __init__(self, variable: str, value: str, hint: str) -> None:
        super().__init__(f"{variable}={value!r} cannot be used: {hint}")
        self.variable = variable
        self.value = value


class MissingResource(EsError):
    """Raised when an action that needs a ``/resource`` got none."""

    exit_code = ExitCode.MISSING_RESOURCE


class UnknownFormat(EsError):
    """Raised when ``--<format>`` names no output format."""

    exit_code = ExitCode.UNKNOWN_FORMAT

    def __init__(self, name: str, formats: list[str]) -> None:
        choices = ", ".join(f"--{known}" for known in formats)
        message = f"unknown output format {'--' + name!r}; use one of {choices}"
        if name == "help":
            message += " (--help prints the usage only as the first argument: es --help)"
        super().__init__(message)
        self.name = name


class RequestFailed(EsError):
    """Raised when the request got no HTTP answer (refused, timed out, TLS failure, ...)."""

    exit_code = ExitCode.REQUEST_FAILED


class LoginFailed(EsError):
    """Raised when a login answer has no token, or the token cannot be stored."""

    exit_code = ExitCode.LOGIN_FAILED
