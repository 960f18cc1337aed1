"""contract_tests talks to a deployment over HTTP and uses the reference server only through
its public surface (create_app, Settings): it never imports the domain core."""

from __future__ import annotations

import ast
from pathlib import Path

import contract_tests

SUITE = Path(contract_tests.__file__).parent


def test_the_suite_imports_only_the_reference_servers_public_surface() -> None:
    found = []
    for module in sorted(SUITE.glob("*.py")):
        for node in ast.walk(ast.parse(module.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("mockserver"):
                found.append((module.name, node.module, sorted(alias.name for alias in node.names)))
            elif isinstance(node, ast.Import):
                found += [
                    (module.name, a.name, []) for a in node.names if a.name.startswith("mockserver")
                ]
    assert all(
        mod == "mockserver" and set(names) <= {"Settings", "create_app"} for _, mod, names in found
    ), found
