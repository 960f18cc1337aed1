"""The spec as one document that keeps its shared definitions as references under ``components/``.

:func:`bundle` takes the spec as :func:`esdc_api.sourcemap.load` resolved it and writes every
definition that a ``$ref`` brought in once, under ``components/<kind>/<Name>``, named as its
file defines it: a schema at ``schemas/task.yaml#/TaskId`` becomes
``#/components/schemas/TaskId``, the header at ``responses/headers.yaml#/EsVersion``
``#/components/headers/EsVersion``. What kind a definition is follows from where it is used
(a ``schema``, a ``parameters`` entry, a ``responses`` entry, an ``examples`` entry, a
``headers`` entry, a ``requestBody``, a ``links`` or ``callbacks`` entry), not from its folder.

Written in place instead: path items (OpenAPI 3.0 has no components for them), a ``$ref`` to a
node deeper than the top of its file (it has no name of its own), and whatever a ``$ref``
brings into a place where OpenAPI allows none (an extension's value). Two definitions of one
kind with the same name in different files keep the first name; the second is named after
its file too (``task_DcNotFound``), and :attr:`Bundle.renamed` says so.

:func:`dereference` turns a bundle into the fully resolved document every other part of the
toolkit reads; for the same sources it equals the document the source map resolved.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from esdc_api.errors import SpecError
from esdc_api.sourcemap import Key, Origin, SourceMap, escape, unescape

#: The kinds of ``components``, in the order OpenAPI 3.0 lists them.
KINDS = (
    "schemas",
    "responses",
    "parameters",
    "examples",
    "requestBodies",
    "headers",
    "securitySchemes",
    "links",
    "callbacks",
)
_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_NAME = re.compile(r"^[A-Za-z0-9._-]+$")


@dataclass(frozen=True)
class Renamed:
    """A definition whose name another definition of its kind already had."""

    kind: str
    name: str
    origin: Origin
    taken_by: Origin

    def __str__(self) -> str:
        return (
            f"{self.kind} {self.origin.pointer.rsplit('/', 1)[-1]!r} is also defined at "
            f"{self.taken_by}: the bundle names this one {self.name!r}"
        )


@dataclass
class Bundle:
    """The bundled document, and where each of its dicts and lists came from."""

    document: dict[str, Any]
    renamed: list[Renamed]
    #: The components the bundle added, as (kind, name); the others are the root file's own.
    added: set[tuple[str, str]]
    #: Whether the root file has a ``components`` member.
    root_has_components: bool
    _origins: dict[int, Origin] = field(repr=False)
    _root: Origin = field(repr=False)

    def resolved(self) -> dict[str, Any]:
        """The fully resolved document: every ``$ref`` replaced by what it points at, and
        ``components`` holding only what the root file defines there itself.

        :raises SpecError: if the spec refers to itself (a recursive schema).
        """
        document = dereference(self.document)
        components = document.get("components")
        if isinstance(components, dict):
            for kind in KINDS:
                entries = components.get(kind, {})
                for name in [name for name in entries if (kind, name) in self.added]:
                    del entries[name]
                if kind in components and not entries:
                    del components[kind]
            if not components and not self.root_has_components:
                del document["components"]
        return document

    def locate(self, path: Iterable[Key]) -> Origin:
        """The source of the node ``path`` leads to in :attr:`document`.

        A path may go on through a ``$ref`` (tools report a finding in a component either at
        the component or at a place that uses it): it continues in the component.
        """
        node: Any = self.document
        found = self._root
        rest: list[Key] = []
        for key in path:
            if isinstance(node, list) and isinstance(key, str) and key.isdigit():
                key = int(key)  # tools that report paths as strings (Spectral) write "0"
            if key != "$ref":
                node = self._follow(node)
            if not _has(node, key):
                node = None  # the rest of the path is below a scalar, or not in the document
                rest.append(key)
                continue
            node = node[key]
            origin = self._origins.get(id(node))
            if origin is None:  # a scalar, or a mapping the bundle made (components/schemas)
                rest.append(key)
            else:
                found, rest = origin, []
        return found.child(*rest)

    def _follow(self, node: Any) -> Any:
        seen = 0
        while isinstance(node, dict) and isinstance(node.get("$ref"), str) and seen < 50:
            target = _pointed(self.document, node["$ref"])
            if target is None:
                break
            node, seen = target, seen + 1
        return node


def bundle(source: SourceMap) -> Bundle:
    """The spec ``source`` resolved, with its shared definitions as ``components``.

    :raises SpecError: if a ``$ref`` of the spec cannot be resolved, or the document is not a
        mapping.
    """
    if source.ref_errors:
        first, count = source.ref_errors[0], len(source.ref_errors)
        more = f" (and {count - 1} more)" if count > 1 else ""
        raise SpecError(
            f"cannot bundle {str(source.root)!r}: {first.origin}: {first.message}{more}"
        )
    if not isinstance(source.document, dict):
        raise SpecError(f"cannot bundle {str(source.root)!r}: the root file is not a mapping")
    writer = _Writer(source)
    return Bundle(
        document=writer.root(source.document),
        renamed=writer.renamed,
        added=writer.added,
        root_has_components="components" in source.document,
        _origins=writer.origins,
        _root=Origin(source.root),
    )


def dereference(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` with every local ``$ref`` (``#/...``) replaced by a copy of its target.

    :raises SpecError: if a ``$ref`` points at nothing, or refers to itself through others
        (a recursive schema has no resolved form).
    """

    def resolve(node: Any, following: tuple[str, ...]) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#"):
                if ref in following:
                    chain = " -> ".join((*following[following.index(ref) :], ref))
                    raise SpecError(f"the spec refers to itself: {chain}; it has no resolved form")
                target = _pointed(document, ref)
                if target is None:
                    raise SpecError(f"$ref {ref!r} points at nothing in the bundle")
                return resolve(target, (*following, ref))
            return {key: resolve(value, following) for key, value in node.items()}
        if isinstance(node, list):
            return [resolve(item, following) for item in node]
        return node

    resolved: dict[str, Any] = resolve(document, ())
    return resolved


def _pointed(document: Any, ref: str) -> Any:
    """The node a local ``$ref`` points at, or None."""
    if not ref.startswith("#"):
        return None
    node = document
    for token in ref[1:].split("/")[1:]:
        key = unescape(token)
        if isinstance(node, dict) and key in node:
            node = node[key]
        elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
            node = node[int(key)]
        else:
            return None
    return node


def _has(node: object, key: Key) -> bool:
    if isinstance(node, dict):
        return key in node
    if isinstance(node, list):
        return isinstance(key, int) and 0 <= key < len(node)
    return False


#: Writes one node of the resolved document; ``expected`` is the origin the node has when it is
#: defined in place (it has another when a ``$ref`` brought it).
Write = Callable[[Any, Origin], Any]


class _Writer:
    """Writes the bundle, walking the resolved document by what each node is in OpenAPI."""

    def __init__(self, source: SourceMap) -> None:
        self.source = source
        self.origins: dict[int, Origin] = {}
        self.renamed: list[Renamed] = []
        self.added: set[tuple[str, str]] = set()
        #: The name each definition (kind, origin) got, and the origin each name was given to.
        self.names: dict[tuple[str, Origin], str] = {}
        self.taken: dict[tuple[str, str], Origin] = {}
        self.components: dict[str, dict[str, Any]] = {kind: {} for kind in KINDS}
        self._copying: set[int] = set()
        self.kinds: dict[str, Write] = {
            "schemas": self.schema,
            "responses": self.response,
            "parameters": self.parameter,
            "examples": self.plain,
            "requestBodies": self.request_body,
            "headers": self.parameter,  # a header is written as a parameter without name and in
            "securitySchemes": self.plain,
            "links": self.plain,
            "callbacks": self.map(self.path_item),
        }

    # -- the document ---------------------------------------------------------------------

    def root(self, node: dict[str, Any]) -> dict[str, Any]:
        top = Origin(self.source.root)
        own = node.get("components")
        own_kinds = {
            kind: entries
            for kind in KINDS
            if isinstance(own, dict) and isinstance(entries := own.get(kind), dict)
        }
        # The root's own components keep their names, and whatever else refers to the same
        # definitions uses them.
        for kind, entries in own_kinds.items():
            for name, entry in entries.items():
                self.names[(kind, self._origin(entry))] = name
                self.taken[(kind, name)] = self._origin(entry)
        out: dict[str, Any] = self._members(
            node, top, {"paths": self.map(self.path_item), "components": None}
        )
        for kind, entries in own_kinds.items():
            for name, entry in entries.items():
                self.components[kind][name] = self.kinds[kind](entry, self._origin(entry))
        components: dict[str, Any] = {}
        if isinstance(own, dict):
            components = {k: self.plain(v, top) for k, v in own.items() if k not in KINDS}
            self.origins[id(components)] = self._origin(own)
        for kind in KINDS:
            first = list(own_kinds.get(kind, {}))  # the root's entries first, in their order
            rest = sorted(name for name in self.components[kind] if name not in first)
            if first or rest:
                components[kind] = {name: self.components[kind][name] for name in first + rest}
        if components:
            out["components"] = components
        return out

    def path_item(self, node: Any, expected: Origin) -> Any:
        writers: dict[str, Write | None] = {method: self.operation for method in _METHODS}
        writers["parameters"] = self.list(self.slot("parameters"))
        return self._members(node, expected, writers)

    def operation(self, node: Any, expected: Origin) -> Any:
        return self._members(
            node,
            expected,
            {
                "parameters": self.list(self.slot("parameters")),
                "requestBody": self.slot("requestBodies"),
                "responses": self.map(self.slot("responses")),
                "callbacks": self.map(self.slot("callbacks")),
            },
        )

    def parameter(self, node: Any, expected: Origin) -> Any:
        return self._members(
            node,
            expected,
            {
                "schema": self.slot("schemas"),
                "examples": self.map(self.slot("examples")),
                "content": self.map(self.media_type),
            },
        )

    def request_body(self, node: Any, expected: Origin) -> Any:
        return self._members(node, expected, {"content": self.map(self.media_type)})

    def media_type(self, node: Any, expected: Origin) -> Any:
        return self._members(
            node,
            expected,
            {
                "schema": self.slot("schemas"),
                "examples": self.map(self.slot("examples")),
                "encoding": self.map(self.encoding),
            },
        )

    def encoding(self, node: Any, expected: Origin) -> Any:
        return self._members(node, expected, {"headers": self.map(self.slot("headers"))})

    def response(self, node: Any, expected: Origin) -> Any:
        return self._members(
            node,
            expected,
            {
                "headers": self.map(self.slot("headers")),
                "content": self.map(self.media_type),
                "links": self.map(self.slot("links")),
            },
        )

    def schema(self, node: Any, expected: Origin) -> Any:
        one = self.slot("schemas")
        return self._members(
            node,
            expected,
            {
                "properties": self.map(one),
                "items": one,
                "additionalProperties": one,
                "allOf": self.list(one),
                "anyOf": self.list(one),
                "oneOf": self.list(one),
                "not": one,
            },
        )

    # -- the parts ------------------------------------------------------------------------

    def slot(self, kind: str) -> Write:
        """A writer for a place that holds a ``kind`` or a ``$ref`` to one."""

        def write(node: Any, expected: Origin) -> Any:
            if not isinstance(node, dict):
                return self.plain(node, expected)  # additionalProperties: true
            origin = self._origin(node)
            name = None if origin == expected else self._component(kind, node, origin)
            if name is None:
                return self.kinds[kind](node, expected)
            ref = {"$ref": f"#/components/{kind}/{escape(name)}"}
            self.origins[id(ref)] = expected
            return ref

        return write

    def _component(self, kind: str, node: dict[str, Any], origin: Origin) -> str | None:
        """The component name of ``node``, a definition at ``origin``, written under it if it
        is new; None for a node that has no name of its own."""
        if (kind, origin) in self.names:
            return self.names[(kind, origin)]
        tokens = [unescape(token) for token in origin.pointer.split("/")[1:]]
        if len(tokens) == 1:
            wanted = tokens[0]
        elif len(tokens) == 3 and tokens[0] == "components" and tokens[1] in KINDS:
            wanted = tokens[2]
        elif not tokens:
            wanted = origin.file.stem
        else:
            return None
        name = _valid(wanted)
        if (kind, name) in self.taken:
            taken_by = self.taken[(kind, name)]
            name, number = _valid(f"{origin.file.stem}_{wanted}"), 2
            while (kind, name) in self.taken:
                name, number = _valid(f"{origin.file.stem}_{wanted}_{number}"), number + 1
            self.renamed.append(Renamed(kind, name, origin, taken_by))
        self.names[(kind, origin)] = name
        self.taken[(kind, name)] = origin
        self.added.add((kind, name))
        self.components[kind][name] = None  # named before it is written: a cycle ends at a $ref
        self.components[kind][name] = self.kinds[kind](node, origin)
        return name

    def _members(self, node: Any, expected: Origin, writers: dict[str, Write | None]) -> Any:
        """A copy of the mapping ``node``, the members named in ``writers`` written by them
        and the others copied as they are (a member written as None is left out)."""
        if not isinstance(node, dict):
            return self.plain(node, expected)
        origin = self._origin(node)
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key not in writers:
                out[key] = self.plain(value, origin.child(key))
            elif (write := writers[key]) is not None:
                out[key] = write(value, origin.child(key))
        self.origins[id(out)] = origin
        return out

    def map(self, write: Write) -> Write:
        """A writer for a mapping whose every value ``write`` writes."""

        def each(node: Any, expected: Origin) -> Any:
            if not isinstance(node, dict):
                return self.plain(node, expected)
            origin = self._origin(node)
            out = {key: write(value, origin.child(key)) for key, value in node.items()}
            self.origins[id(out)] = origin
            return out

        return each

    def list(self, write: Write) -> Write:
        """A writer for a list whose every item ``write`` writes."""

        def each(node: Any, expected: Origin) -> Any:
            if not isinstance(node, list):
                return self.plain(node, expected)
            origin = self._origin(node)
            out = [write(item, origin.child(index)) for index, item in enumerate(node)]
            self.origins[id(out)] = origin
            return out

        return each

    def plain(self, node: Any, expected: Origin) -> Any:
        """A copy of ``node`` with everything in it resolved, for places that hold no
        references (examples, extensions, ``info``)."""
        if not isinstance(node, dict | list):
            return node
        if id(node) in self._copying:
            raise SpecError(f"{self._origin(node)} contains itself through a $ref")
        self._copying.add(id(node))
        try:
            origin = self._origin(node)
            out: Any
            if isinstance(node, dict):
                out = {key: self.plain(value, origin.child(key)) for key, value in node.items()}
            else:
                out = [self.plain(item, origin.child(i)) for i, item in enumerate(node)]
        finally:
            self._copying.discard(id(node))
        self.origins[id(out)] = origin
        return out

    def _origin(self, node: Any) -> Origin:
        return self.source.origin(node) or Origin(self.source.root)


def _valid(name: str) -> str:
    """``name`` with what OpenAPI does not allow in a component name replaced by ``_``."""
    return name if _NAME.match(name) else re.sub(r"[^A-Za-z0-9._-]", "_", name)
