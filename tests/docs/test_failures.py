"""The build fails, naming the endpoint and the command, when the spec and the server disagree."""

from __future__ import annotations

from pathlib import Path

from tests.docs.conftest import build_docs


def _replace(path: Path, old: str, new: str, count: int = 1) -> None:
    text = path.read_text()
    assert text.count(old) == count, f"{old!r} is not in {path} {count} time(s)"
    path.write_text(text.replace(old, new))


def test_a_field_renamed_in_the_spec_but_not_in_the_server_fails_the_build(
    spec_copy: Path, tmp_path: Path
) -> None:
    task = spec_copy.parent / "schemas" / "task.yaml"
    _replace(task, "  required: [done, task_id]\n  properties:\n    done:",
             "  required: [finished, task_id]\n  properties:\n    finished:")  # fmt: skip

    build = build_docs(tmp_path / "out", "--spec", str(spec_copy))

    assert build.returncode != 0
    assert (
        "GET /task/{task_id}/done/: `es get /task/3e3d1-e7a05c3b-9d42-4b6e-a1c8/done`"
        in build.stderr
    )
    assert "'finished' is a required property" in build.stderr
    assert not (tmp_path / "out" / "index.html").exists()


def test_a_wrong_status_in_an_es_example_fails_the_build_naming_the_endpoint(
    spec_copy: Path, tmp_path: Path
) -> None:
    done = spec_copy.parent / "paths" / "task-done.yaml"
    _replace(
        done,
        "      status: 201\n      example: pending\n",
        "      status: 200\n      example: done\n",
    )

    build = build_docs(tmp_path / "out", "--spec", str(spec_copy))

    assert build.returncode != 0
    assert (
        "GET /task/{task_id}/done/: `es get /task/3e3d1-e7a05c3b-9d42-4b6e-a1c8/done` as alice: "
        "answered 201, but x-es-examples promises 200"
    ) in build.stderr


def test_an_example_promising_an_undocumented_status_fails_before_anything_runs(
    spec_copy: Path, tmp_path: Path
) -> None:
    stats = spec_copy.parent / "paths" / "task-log-stats.yaml"
    _replace(stats, "      status: 412\n      example: invalidLast\n", "      status: 400\n")

    build = build_docs(tmp_path / "out", "--spec", str(spec_copy))

    assert build.returncode != 0
    assert "GET /task/log/stats/: `es get /task/log/stats -last yesterday` as admin" in build.stderr
    assert "promises status 400, which the operation does not document" in build.stderr
    assert "es example 1/" not in build.stdout
