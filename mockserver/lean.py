"""Importing connexion without the parts of it the reference server never runs.

Importing connexion 3.3 is most of the reference server's start (``python -X importtime -c
'import mockserver.server'``: about 0.8 s of 1.2 s on the shared 2-core machine), and a good
part of that is three libraries connexion imports at the top of its modules for features the
server does not use:

- ``httpx`` (with its command line: ``rich``, ``pygments``), which ``connexion.security``
  imports for OAuth token introspection. The server's middleware stack has no
  ``SecurityMiddleware``: the pipeline checks credentials itself.
- ``requests`` (with ``urllib3``, ``chardet``, ``charset_normalizer``), which
  ``connexion.json_schema`` imports to fetch a ``$ref`` over HTTP. The server gives connexion
  resolved specs, which refer to nothing.
- ``starlette.testclient`` (with ``httpx2`` and ``anyio.from_thread``), which
  ``connexion.apps.abstract`` imports for ``AbstractApp.test_client()``.

The first two are imported lazily (:class:`importlib.util.LazyLoader`): the module exists, and
runs in full the first time anything reads an attribute of it, so code that does use them gets
the real module, only later. The third is read by name (``from starlette.testclient import
TestClient``), which a lazy module cannot defer; while connexion is imported that one name is
:func:`test_client`, which imports the real class when called, and connexion 3.3 (the pinned
version) does nothing else with it. The stand-in module is gone once connexion is imported:
``import starlette.testclient`` afterwards imports the real one.

Nothing is changed when connexion is already imported, or for any other import.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
import types
from collections.abc import Sequence
from typing import Any

#: Modules connexion imports whole but the reference server never calls.
LAZY = frozenset({"httpx", "requests"})
#: The module connexion reads one name from, only to call it in ``test_client()``.
TESTCLIENT = "starlette.testclient"


class _LazyFinder:
    """Finds :data:`LAZY` modules as the path finder does, loaded lazily."""

    def find_spec(
        self,
        name: str,
        path: Sequence[str] | None = None,
        target: types.ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if name not in LAZY:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        spec.loader = importlib.util.LazyLoader(spec.loader)
        return spec


def test_client(app: Any, **options: Any) -> Any:
    """Starlette's ``TestClient(app, **options)``, imported when first asked for."""
    from starlette.testclient import TestClient

    return TestClient(app, **options)


def _stand_in() -> types.ModuleType:
    """The module connexion reads ``TestClient`` from: that name only (reading any other
    fails as it would for a name the real module lacks, at once)."""
    module = types.ModuleType(TESTCLIENT, "Stands in while connexion is imported.")
    module.TestClient = test_client  # type: ignore[attr-defined]
    return module


def import_connexion() -> None:
    """Import connexion, deferring what it imports for features the server does not use."""
    if "connexion" in sys.modules:
        return
    finder = _LazyFinder()
    stand_in = None if TESTCLIENT in sys.modules else _stand_in()
    sys.meta_path.insert(0, finder)
    if stand_in is not None:
        sys.modules[TESTCLIENT] = stand_in
    try:
        import connexion  # noqa: F401
    finally:
        sys.meta_path.remove(finder)
        if stand_in is not None and sys.modules.get(TESTCLIENT) is stand_in:
            del sys.modules[TESTCLIENT]
