"""The mock servers a team would pick instead of ours, on the same spec and the same URLs.

- **Prism** (:func:`bench.servers.start_prism`) mocks the bundled spec itself;
- **Mockoon** (``@mockoon/cli``, pinned in ``package.json``) starts from the environment its
  own ``import`` makes of the same bundle (what a team gets from ``mockoon-cli import``), its
  routes put in the spec's order of precedence: literal paths before templated ones, as our
  router and Prism match them (Mockoon tries routes in the order of its file, and
  ``/api/task/{task_id}/`` would answer ``/api/task/log/``);
- **WireMock** (the ``wiremock`` npm package, its standalone jar, on Debian's Java) does not
  read OpenAPI: :func:`wiremock_stubs` writes one stub per operation from the spec's first
  example of its first 2xx answer (what Prism answers), literal paths at a higher priority.
  Its request journal and per-request logging are off, as the others' per-request logs are.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

from bench.servers import ROOT, Server, ServerError, _launch, _wait_for_answer, free_port, pinned

MOCKOON = ROOT / "node_modules" / ".bin" / "mockoon-cli"
WIREMOCK_JAR = ROOT / "node_modules" / "wiremock" / "build"
METHODS = ("get", "put", "post", "delete", "patch")


def mockoon_environment(imported: dict[str, Any], port: int) -> dict[str, Any]:
    """Mockoon's imported environment with its routes in the spec's order of precedence,
    served on ``port`` of 127.0.0.1."""
    routes = {route["uuid"]: route for route in imported["routes"]}
    children = sorted(
        imported["rootChildren"],
        key=lambda child: ":" in routes.get(child["uuid"], {}).get("endpoint", ""),
    )
    return {**imported, "rootChildren": children, "port": port, "hostname": "127.0.0.1"}


def start_mockoon(
    workdir: Path, spec: Path, *, cpu: int | None = None, timeout: float = 120
) -> Server:
    if not MOCKOON.exists():
        raise ServerError(f"no Mockoon at {MOCKOON}: run `npm ci` first")
    imported = workdir / "mockoon-import.json"
    subprocess.run(
        [str(MOCKOON), "import", "-i", str(spec), "-o", str(imported)],
        check=True,
        capture_output=True,
        cwd=ROOT,
        timeout=120,
    )
    port = free_port()
    environment = workdir / "mockoon.json"
    environment.write_text(json.dumps(mockoon_environment(json.loads(imported.read_text()), port)))
    # -X: log to the terminal only (Mockoon has no switch for its one line per request).
    command = [str(MOCKOON), "start", "-d", str(environment), "-X"]
    log = workdir / "mockoon.log"
    launched = time.monotonic()
    server = Server(
        "Mockoon", f"http://127.0.0.1:{port}", _launch(pinned(command, cpu), log), log=log
    )
    _wait_for_answer(server, launched, timeout)
    return server


def _first_example(response: dict[str, Any]) -> tuple[str | None, Any]:
    for media, content in (response.get("content") or {}).items():
        if "examples" in content and content["examples"]:
            return media, next(iter(content["examples"].values())).get("value")
        if "example" in content:
            return media, content["example"]
        return media, None
    return None, None


def wiremock_stubs(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """One WireMock stub per operation of ``spec`` (its paths already under the base path):
    the first example of the first 2xx answer, with its media type."""
    stubs = []
    for template, item in spec["paths"].items():
        pattern = "".join(
            "[^/]+" if part.startswith("{") else re.escape(part)
            for part in re.split(r"(\{[^}]+\})", template)
        )
        for method in METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            code = next((c for c in operation.get("responses", {}) if str(c).startswith("2")), None)
            if code is None:
                continue
            media, example = _first_example(operation["responses"][code])
            response: dict[str, Any] = {"status": int(code)}
            if media is not None:
                response["headers"] = {"Content-Type": media}
                response["body"] = json.dumps(example, separators=(",", ":"))
            stubs.append(
                {
                    "priority": 5 if "{" in template else 1,
                    "request": {"method": method.upper(), "urlPathPattern": pattern},
                    "response": response,
                }
            )
    return stubs


def start_wiremock(
    workdir: Path, spec: Path, *, cpu: int | None = None, timeout: float = 180
) -> Server:
    jars = sorted(WIREMOCK_JAR.glob("wiremock-standalone-*.jar"))
    if not jars:
        raise ServerError(f"no WireMock jar in {WIREMOCK_JAR}: run `npm ci` first")
    java = shutil.which("java")
    if java is None:
        raise ServerError("no java: apt-get install -y default-jre-headless")
    root = workdir / "wiremock"
    (root / "mappings").mkdir(parents=True, exist_ok=True)
    for n, stub in enumerate(wiremock_stubs(json.loads(spec.read_text()))):
        (root / "mappings" / f"{n:03d}.json").write_text(json.dumps(stub))
    port = free_port()
    command = [
        java,
        "-jar",
        str(jars[-1]),
        "--bind-address",
        "127.0.0.1",
        "--port",
        str(port),
        "--root-dir",
        str(root),
        "--disable-request-logging",
        "--no-request-journal",
        "--disable-banner",
    ]
    log = workdir / "wiremock.log"
    launched = time.monotonic()
    server = Server(
        "WireMock", f"http://127.0.0.1:{port}", _launch(pinned(command, cpu), log), log=log
    )
    _wait_for_answer(server, launched, timeout)
    return server


def version_of(server: str) -> str:
    """The pinned version of a peer, from node_modules."""
    package = {"Mockoon": "@mockoon/cli", "WireMock": "wiremock", "Prism": "@stoplight/prism-cli"}
    try:
        found = json.loads((ROOT / "node_modules" / package[server] / "package.json").read_text())
        return str(found["version"])
    except (OSError, KeyError, ValueError):
        return "not installed"
