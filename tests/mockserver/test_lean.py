"""connexion imported without what the server never runs of it (mockserver.lean), in a fresh
interpreter each: this one has connexion imported already."""

from __future__ import annotations

import subprocess
import sys

import pytest

from mockserver import lean


def run(code: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    return result.stdout.strip()


def test_the_server_imports_none_of_what_connexion_imports_for_unused_features() -> None:
    loaded = run(
        "import sys, mockserver.server\n"
        "names = ['httpx._client', 'requests.sessions', 'urllib3', 'rich', 'pygments', "
        "'starlette.testclient', 'httpx2']\n"
        "print(','.join(n for n in names if n in sys.modules))"
    )
    assert loaded == ""


def test_the_deferred_modules_are_whole_when_used() -> None:
    out = run(
        "import sys, mockserver.server, httpx, requests\n"
        "print(httpx.AsyncClient.__module__, requests.get.__module__, type(httpx).__name__)"
    )
    assert out == "httpx requests.api module"


def test_connexion_test_client_is_starlette_s_and_the_stand_in_is_gone() -> None:
    out = run(
        "import sys, mockserver, connexion, starlette.testclient\n"
        "client = connexion.AsyncApp('probe').test_client()\n"
        "print(type(client) is starlette.testclient.TestClient, "
        "starlette.testclient.__file__.endswith('testclient.py'))"
    )
    assert out == "True True"


def test_nothing_changes_when_connexion_is_already_imported() -> None:
    out = run(
        "import sys, connexion, mockserver\n"
        "print(type(sys.modules['httpx']).__name__, 'starlette.testclient' in sys.modules)"
    )
    assert out == "module True"


def test_only_the_named_modules_are_deferred() -> None:
    finder = lean._LazyFinder()
    assert finder.find_spec("json") is None
    spec = finder.find_spec("httpx")
    assert spec is not None and type(spec.loader).__name__ == "LazyLoader"


def test_the_stand_in_offers_only_what_connexion_reads() -> None:
    stand_in = lean._stand_in()
    assert stand_in.TestClient is lean.test_client
    with pytest.raises(AttributeError):
        stand_in.WebSocketTestSession  # noqa: B018
