"""TypeScript types generated from the served spec by openapi-typescript compile, and mean it.

Both tools come from ``npm ci`` (package.json), which CI runs before pytest: a missing one fails
these tests instead of skipping them. The file compiled is the docs' example,
``docs/clients/wait-for-task.ts``.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from esdc_api.resources import data_dir

BIN = data_dir() / "node_modules" / ".bin"
EXAMPLE = data_dir() / "docs" / "clients" / "wait-for-task.ts"
TSC = ["--noEmit", "--strict", "--target", "es2022", "--module", "es2022",
       "--moduleResolution", "bundler", "--lib", "es2022,dom"]  # fmt: skip


def run(tool: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    assert (BIN / tool).is_file(), f"{tool} is not in {BIN}: run `npm ci` first"
    return subprocess.run(
        [str(BIN / tool), *args], capture_output=True, text=True, cwd=cwd, timeout=120, check=False
    )


@pytest.fixture(scope="module")
def types(served_spec: tuple[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    url, _copy = served_spec
    folder = tmp_path_factory.mktemp("typescript")

    done = run("openapi-typescript", url, "-o", "esdc-task-api.d.ts", cwd=folder)

    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert not re.search(r"error|warn", output, re.IGNORECASE), output
    return folder / "esdc-task-api.d.ts"


def test_the_types_keep_the_components_of_the_served_spec(types: Path) -> None:
    text = types.read_text()

    assert 'TaskState: "PENDING" | "STARTED" | "SUCCESS" | "FAILURE" | "REVOKED";' in text
    assert '200: components["responses"]["StatusSuccess"];' in text


def test_the_docs_example_compiles_and_a_state_the_spec_lacks_does_not(types: Path) -> None:
    folder = types.parent
    shutil.copy(EXAMPLE, folder / EXAMPLE.name)
    (folder / "wrong-state.ts").write_text(
        'import type { components } from "./esdc-task-api";\n'
        'export const state: components["schemas"]["TaskState"] = "DONE";\n'
    )

    done = run("tsc", *TSC, EXAMPLE.name, "wrong-state.ts", cwd=folder)

    errors = [line for line in done.stdout.splitlines() if ": error TS" in line]
    assert len(errors) == 1, done.stdout + done.stderr
    assert errors[0].startswith("wrong-state.ts(2,14): error TS2322: Type '\"DONE\"'")
