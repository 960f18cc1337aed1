"""Checks whose verdict depends on content alone, made once per content.

Connexion checks every spec it is given against the OpenAPI schema, and the reference server
checks its world file against the world schema. Both take long next to the rest of a start
(connexion's check of the task API is about 0.4 s on a quiet machine, more than everything
else before the first answer), and both give the same verdict for the same content. A content
that passed is recorded by its digest, in memory and as an empty file in :func:`cache_dir`, and
is not checked again; a content that failed is not recorded, so it fails on every start.

The digest covers what the verdict depends on: the checker's name and version, and the content
as canonical JSON. Nothing here imports connexion until :func:`skip_connexion_rechecks` is
called, so that the domain core may use :func:`once`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from esdc_api import resources

_passed: set[str] = set()


def cache_dir() -> Path | None:
    """Where passed checks are recorded between processes (:func:`esdc_api.resources.cache_dir`),
    or ``None`` for nowhere."""
    return resources.cache_dir("checked")


def digest(checker: str, content: Any) -> str | None:
    """The key of ``content``'s verdict by ``checker``, or ``None`` for content that has no
    canonical JSON (it is then checked every time)."""
    try:
        text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    except (TypeError, ValueError):
        return None
    return hashlib.sha256(f"{checker}\n{text}".encode()).hexdigest()


def once(checker: str, content: Any, check: Callable[[], None]) -> None:
    """Run ``check`` (which raises if ``content`` fails) unless ``content`` passed ``checker``
    before, here or in a process that shared :func:`cache_dir`."""
    key = digest(checker, content)
    if key is None:
        check()
        return
    folder = cache_dir()
    if key in _passed or (folder is not None and (folder / key).is_file()):
        _passed.add(key)
        return
    check()
    _passed.add(key)
    if folder is not None:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            (folder / key).touch()
        except OSError:  # a read-only home: the verdict is kept in memory
            pass


def forget() -> None:
    """Drop the verdicts kept in memory (those on disk stay)."""
    _passed.clear()


def skip_connexion_rechecks() -> None:
    """Make connexion check each spec content once, through :func:`once`.

    Connexion has no option to skip its check of a spec it is given; this wraps the
    classmethod it calls for it. Calling it again does nothing.
    """
    from connexion.spec import Specification

    validate = Specification.__dict__["_validate_spec"]
    if getattr(validate.__func__, "__wrapped_once__", False):
        return
    checker = f"connexion {_connexion_checker()} OpenAPI schema"

    def _validate_spec(cls: type[Specification], spec: dict[str, Any]) -> None:
        once(f"{checker} ({cls.__name__})", spec, lambda: validate.__func__(cls, spec))

    _validate_spec.__wrapped_once__ = True  # type: ignore[attr-defined]
    Specification._validate_spec = classmethod(_validate_spec)


def _connexion_checker() -> str:
    """What connexion's verdict on a spec is made by: the code that checks (its ``spec`` and
    ``json_schema`` modules) and the OpenAPI schemas it checks against, as a digest of their
    content. (Its version, from ``importlib.metadata``, cost more than the rest of the check of
    a spec that passed before: importing that alone is about 50 ms.)"""
    import connexion

    folder = Path(connexion.__file__).parent
    schemas = sorted((folder / "resources" / "schemas").rglob("*.json"))
    made_by = hashlib.sha256()
    for path in [folder / "spec.py", folder / "json_schema.py", *schemas]:
        made_by.update(f"{path.relative_to(folder)}\n".encode() + path.read_bytes())
    return made_by.hexdigest()[:20]


def check_spec(spec: dict[str, Any]) -> None:
    """Check ``spec`` as connexion checks a spec it is given (``Specification.from_dict``: its
    keys made strings, its defaults set, then validated against the OpenAPI schema, once per
    content as :func:`skip_connexion_rechecks` makes it), without the copies connexion's
    set-up then makes of it. For a spec connexion does not get: the task API's, whose
    operations the pipeline serves (:func:`mockserver.app.create_app`).

    :raises connexion.exceptions.InvalidSpecification: as connexion would.
    """
    from connexion.spec import OpenAPISpecification, Specification, Swagger2Specification

    def string_keys(node: Any) -> Any:  # as connexion's enforce_string_keys
        if isinstance(node, dict):
            return {str(key): string_keys(value) for key, value in node.items()}
        return node

    document = string_keys(spec)
    version = Specification._get_spec_version(document)
    kind = Swagger2Specification if version < (3, 0, 0) else OpenAPISpecification
    kind._set_defaults(document)
    kind._validate_spec(document)
