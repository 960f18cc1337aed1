"""Reading an ``es`` command line into a :class:`Command`.

The grammar is the original's, quirks included, because scripts and docs rely on it::

    es [-d|--debug] action [/resource] [-name value | -name ...] [--<format>]

- ``-d`` counts only as the first argument;
- the action is read in any case (``GET`` is ``get``);
- any argument that starts with ``--`` (and is longer) names the output format, wherever it is;
- ``-`` followed by a letter or digit starts a parameter, so ``-last -1`` is two parameters;
- a value with no ``-name`` before it is ignored;
- a parameter without a value is ``true``; ``true``/``false``/``null`` in any case are JSON;
  ``json::<text>`` is parsed JSON and ``file::<path>`` the file's text; everything else,
  numbers included, is a string.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from esdc_api.es.errors import (
    BadParameter,
    MissingResource,
    UnknownAction,
    UnknownFormat,
)
from esdc_api.es.output import FORMATS

#: The HTTP method of each action.
METHODS: Mapping[str, str] = {
    "get": "GET",
    "create": "POST",
    "post": "POST",
    "set": "PUT",
    "put": "PUT",
    "delete": "DELETE",
    "help": "OPTIONS",
    "login": "POST",
    "logout": "GET",
}
#: Actions whose parameters go into the query string; the others send a JSON body.
QUERY_ACTIONS = frozenset({"get", "logout"})
#: Actions with a default resource (``/accounts/<action>/``).
ACCOUNT_ACTIONS = frozenset({"login", "logout"})
DEBUG_FLAGS = ("-d", "--debug")
HELP_FLAGS = ("-h", "--help", "-?")
DEFAULT_FORMAT = "json"


@dataclasses.dataclass(frozen=True)
class Command:
    """One ``es`` invocation, understood.

    :param action: the action word in lower case (``get``, ``create``, ``post``, ...); it may
        be typed in any case, as in the original.
    :param path: the resource, ending with ``/`` (after any ``?query`` written in it).
    :param params: the parameters, without ``-api-key``.
    :param api_key: the ``-api-key`` value, if given.
    :param words: the arguments without ``-d`` and ``--<format>``; ``-d`` shows them.
    :param ignored: the values with no ``-name`` before them, which are not sent.
    """

    action: str
    path: str
    params: dict[str, Any] = dataclasses.field(default_factory=dict)
    api_key: str | None = dataclasses.field(default=None, repr=False)  # a secret
    output_format: str = DEFAULT_FORMAT
    debug: bool = False
    words: tuple[str, ...] = dataclasses.field(default=(), repr=False)  # may hold -api-key
    ignored: tuple[str, ...] = ()

    @property
    def method(self) -> str:
        """The HTTP method of the action."""
        return METHODS[self.action]

    @property
    def in_query(self) -> bool:
        """Whether the parameters go into the query string rather than a JSON body."""
        return self.action in QUERY_ACTIONS


def wants_help(args: Sequence[str]) -> bool:
    """Whether the arguments ask for the usage text: ``-h``, ``--help`` or ``-?`` first.

    Anywhere else ``--help`` names an output format, which does not exist (exit 13), and ``-h``
    a parameter, as in the original.
    """
    return bool(args) and args[0] in HELP_FLAGS


def parse_command(args: Sequence[str]) -> Command:
    """Understand the arguments that follow ``es``, checking them in the original's order.

    :raises UnknownAction: if the first word is not an action (exit 11).
    :raises MissingResource: if no ``/resource`` follows an action that needs one (exit 12).
    :raises UnknownFormat: if ``--<format>`` is not an output format (exit 13).
    :raises BadParameter: if a parameter cannot be read (exit 11).
    """
    words = list(args)
    debug = len(words) > 1 and words[0] in DEBUG_FLAGS
    if debug:
        del words[0]
    output_format = DEFAULT_FORMAT
    for word in [word for word in words if word.startswith("--") and len(word) > 2]:
        output_format = word[2:]
        words.remove(word)

    action = words[0].lower() if words else ""
    if action not in METHODS:
        raise UnknownAction(words[0] if words else "", list(METHODS))
    if len(words) > 1 and words[1].startswith("/"):
        resource: str | None = words[1]
        options = words[2:]
    else:
        resource, options = None, words[1:]
    if resource is None:
        if action not in ACCOUNT_ACTIONS:
            raise _missing_resource(action, options)
        resource = f"/accounts/{action}/"
    if output_format not in FORMATS:
        raise UnknownFormat(output_format, list(FORMATS))

    params = parse_params(options)
    api_key = params.pop("api-key", None)
    if api_key is not None and not isinstance(api_key, str):
        raise BadParameter("api-key", str(api_key), "give the key, as in -api-key KEY")
    return Command(
        action=action,
        path=with_trailing_slash(resource),
        params=params,
        api_key=api_key,
        output_format=output_format,
        debug=debug,
        words=tuple(words),
        ignored=stray_values(options),
    )


def _missing_resource(action: str, options: list[str]) -> MissingResource:
    if options and not options[0].startswith("-"):
        return MissingResource(
            f"missing resource: {options[0]!r} does not start with '/'; "
            f"write e.g. es {action} /task"
        )
    return MissingResource(f"missing resource: say what to {action}, e.g. es {action} /task")


def with_trailing_slash(resource: str) -> str:
    """``resource`` ending with ``/``, appended to the very end as the original appends it.

    A ``?query`` written in the resource therefore gets the slash too: ``/task/log?page=2``
    becomes ``/task/log?page=2/``, which a deployment redirects (301) to
    ``/task/log/?page=2/``, whose page ``2/`` is invalid (404). Parameters belong in ``-page 2``.
    """
    return resource if resource.endswith("/") else resource + "/"


def parse_params(options: Sequence[str]) -> dict[str, Any]:
    """``-name value`` pairs into a dict; a name without a value is ``True``.

    A value with no ``-name`` before it is left out, as the original leaves it out
    (:func:`stray_values` lists them).

    :raises BadParameter: for an unreadable ``json::`` or ``file::`` value.
    """
    params: dict[str, Any] = {}
    for name, word in _pairs(options):
        if name is not None:
            params[name] = True if word is None else parse_value(name, word)
    return params


def stray_values(options: Sequence[str]) -> tuple[str, ...]:
    """The values in ``options`` that have no ``-name`` before them, which es does not send."""
    return tuple(word for name, word in _pairs(options) if name is None and word is not None)


def _pairs(options: Sequence[str]) -> Iterator[tuple[str | None, str | None]]:
    # (name, None) for each -name, (name, value) for the value that follows it, and
    # (None, value) for a value that follows no -name: a value after a value, or the first word.
    name: str | None = None
    for word in options:
        if word.startswith("-") and word[1:2].isalnum():
            name = word[1:]
            yield name, None
        else:
            yield name, word
            name = None


def parse_value(name: str, word: str) -> Any:
    """The value of parameter ``name`` written as ``word``.

    :raises BadParameter: if a ``json::`` value is not JSON or a ``file::`` file cannot be read.
    """
    keyword = word.lower()
    if keyword in _KEYWORDS:
        return _KEYWORDS[keyword]
    if word.startswith("json::"):
        try:
            return json.loads(word[6:])
        except ValueError as exc:
            raise BadParameter(name, word, f"not JSON ({exc}); quote it for the shell") from exc
    if word.startswith("file::"):
        try:
            with open(word[6:], encoding="utf-8") as file:
                return file.read()
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc)
            raise BadParameter(name, word, f"cannot read the file ({reason})") from exc
    return word


_KEYWORDS: Mapping[str, Any] = {"true": True, "false": False, "null": None}
