"""The spec bundled with a map from each node back to the file and JSON pointer it came from.

:func:`load` reads the root file, follows every ``$ref`` across files and builds the same
resolved document as :func:`esdc_api.spec.resolve`, recording for each dict and list the
:class:`Origin` it was read from. A node that a ``$ref`` brings in keeps the origin of its own
definition: an example used by five responses points at ``examples/task.yaml``, not at the
responses. Each definition is resolved once and shared by all its users, so a document with
``$ref`` cycles becomes a cyclic graph instead of an endless one.

Problems that stop a part of the spec from resolving (a file that cannot be read, a ``$ref``
to a missing file or pointer) do not raise: they are collected as :class:`RefError`, and the
``$ref`` is left in the document as it was written.
"""

from __future__ import annotations

import os
import urllib.parse
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

try:  # libyaml parses the spec about ten times faster
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

Key = str | int


def escape(key: Key) -> str:
    """A key as a JSON pointer reference token (RFC 6901): ``~`` as ``~0``, ``/`` as ``~1``."""
    return str(key).replace("~", "~0").replace("/", "~1")


def unescape(token: str) -> str:
    """The key a JSON pointer reference token stands for."""
    return token.replace("~1", "/").replace("~0", "~")


@dataclass(frozen=True)
class Origin:
    """A place in a source file: the file and a JSON pointer into it (``""`` is the whole file)."""

    file: Path
    pointer: str = ""

    def child(self, *keys: Key) -> Origin:
        """The origin of a member below this one, ``keys`` deep."""
        return Origin(self.file, self.pointer + "".join("/" + escape(key) for key in keys))

    def __str__(self) -> str:
        """``file#pointer``, with the file as :func:`shown` shows it."""
        return f"{shown(self.file)}#{self.pointer}"


def shown(path: Path) -> str:
    """``path`` relative to the working directory when inside it, else absolute."""
    try:
        return path.relative_to(Path.cwd()).as_posix()
    except ValueError:
        return path.as_posix()


@dataclass(frozen=True)
class RefError:
    """A ``$ref`` (at ``origin``, which ends in ``/$ref``) or a file that could not be resolved."""

    origin: Origin
    message: str


@dataclass
class SourceMap:
    """The resolved spec and where each of its dicts and lists came from."""

    document: Any
    root: Path
    files: list[Path]
    ref_errors: list[RefError]
    _origins: dict[int, Origin] = field(repr=False)

    def origin(self, node: object) -> Origin | None:
        """Where ``node`` (a dict or list of :attr:`document`) was defined; None for scalars."""
        return self._origins.get(id(node))

    def locate(self, path: Iterable[Key], start: object = None) -> Origin:
        """The source of the node ``path`` leads to from ``start`` (default: the document).

        Scalars have no origin of their own: their place is their container's origin plus the
        keys that remain, and so is the place of a key the document does not have.
        """
        node: Any = self.document if start is None else start
        found = self.origin(node) or Origin(self.root)
        rest: list[Key] = []
        for key in path:
            if isinstance(node, list) and isinstance(key, str) and key.isdigit():
                key = int(key)  # tools that report paths as strings (Spectral) write "0"
            if rest or not _has(node, key):
                rest.append(key)
                continue
            node = node[key]
            origin = self.origin(node)
            if origin is None:
                rest.append(key)
            else:
                found = origin
        return found.child(*rest)


def _has(node: object, key: Key) -> bool:
    if isinstance(node, dict):
        return key in node
    if isinstance(node, list):
        return isinstance(key, int) and 0 <= key < len(node)
    return False


def load(root: Path | str) -> SourceMap:
    """Read the spec whose root file is ``root`` and resolve every ``$ref`` in it.

    :raises FileNotFoundError: if ``root`` does not exist.
    """
    root = Path(root).resolve()
    if not root.is_file():
        raise FileNotFoundError(root)
    resolver = _Resolver()
    document = resolver.resolve(Origin(root), resolver.read(Origin(root)))
    return SourceMap(
        document=document,
        root=root,
        files=list(resolver.files),
        ref_errors=resolver.errors,
        _origins=resolver.origins,
    )


class _Unresolvable(Exception):
    """Raised inside the resolver when a reference leads nowhere; becomes a RefError.

    Without a message the cause (a file that cannot be read) has already been recorded.
    """


class _Resolver:
    def __init__(self) -> None:
        self.files: dict[Path, Any] = {}
        self.origins: dict[int, Origin] = {}
        self.errors: list[RefError] = []
        self.unreadable: set[Path] = set()
        self._resolved: dict[Origin, Any] = {}
        self._following: set[Origin] = set()

    def read(self, where: Origin) -> Any:
        """The parsed content of ``where.file``; a file that cannot be read is recorded as empty."""
        if where.file not in self.files:
            try:
                self.files[where.file] = yaml.load(where.file.read_text(), Loader=_Loader)
            except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
                self.files[where.file] = None
                self.unreadable.add(where.file)
                self.errors.append(RefError(where, f"cannot read the file: {_reason(exc)}"))
        return self.files[where.file]

    def resolve(self, where: Origin, node: Any) -> Any:
        if not isinstance(node, dict | list):
            return node
        if where in self._resolved:
            return self._resolved[where]
        if isinstance(node, dict) and isinstance(node.get("$ref"), str):
            return self._follow(where, node)
        copy: Any = {} if isinstance(node, dict) else []
        # Registered before the members are resolved, so that a cycle ends here.
        self._resolved[where] = copy
        self.origins[id(copy)] = where
        if isinstance(node, dict):
            for key, value in node.items():
                copy[key] = self.resolve(where.child(key), value)
        else:
            copy.extend(self.resolve(where.child(index), item) for index, item in enumerate(node))
        return copy

    def _follow(self, where: Origin, node: dict[str, Any]) -> Any:
        ref: str = node["$ref"]
        if where in self._following:
            self.errors.append(RefError(where.child("$ref"), f"$ref {ref!r} refers to itself"))
            return node
        try:
            target, target_node = self._target(where, ref)
        except _Unresolvable as exc:
            if exc.args:
                self.errors.append(RefError(where.child("$ref"), str(exc)))
            # Left as written (origin recorded), so that the checks can still name this place.
            self._resolved[where] = node
            self.origins[id(node)] = where
            return node
        self._following.add(where)
        try:
            resolved = self.resolve(target, target_node)
        finally:
            self._following.discard(where)
        self._resolved[where] = resolved
        return resolved

    def _target(self, where: Origin, ref: str) -> tuple[Origin, Any]:
        location, _, fragment = ref.partition("#")
        if urllib.parse.urlsplit(location).scheme:
            raise _Unresolvable(
                f"$ref {ref!r} is a URL; refer to a file of the spec by its relative path"
            )
        file = where.file
        if location:
            file = Path(os.path.normpath(where.file.parent / urllib.parse.unquote(location)))
            if not file.is_file():
                raise _Unresolvable(
                    f"$ref {ref!r} names a file that does not exist: {shown(file)!r}"
                )
        pointer = urllib.parse.unquote(fragment)
        if pointer and not pointer.startswith("/"):
            raise _Unresolvable(f"$ref {ref!r} has a fragment that is not a JSON pointer ('#/...')")
        node = self.read(Origin(file))
        if node is None and file in self.unreadable:
            raise _Unresolvable()
        for token in _tokens(pointer):
            if isinstance(node, dict) and token in node:
                node = node[token]
            elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
                node = node[int(token)]
            else:
                name = shown(file)
                raise _Unresolvable(f"$ref {ref!r} points at nothing: {name} has no {pointer!r}")
        return Origin(file, pointer), node


def _tokens(pointer: str) -> Iterator[str]:
    if pointer:
        yield from (unescape(token) for token in pointer.split("/")[1:])


def _reason(exc: Exception) -> str:
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem_mark is not None:
        mark = exc.problem_mark
        context = f" ({exc.context})" if exc.context else ""
        return f"{exc.problem} at line {mark.line + 1}, column {mark.column + 1}{context}"
    return str(exc).replace("\n", " ")
