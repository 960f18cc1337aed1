from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from esdc_api import lint
from esdc_api.cli import cli
from esdc_api.resources import data_dir

Plant = Callable[[str, str, str], None]


def test_lint_passes_on_the_projects_spec(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["lint"])

    assert result.exit_code == 0, result.output
    assert "openapi.yaml: no errors (" in result.output
    assert "23 operations" in result.output


def test_lint_passes_on_the_projects_spec_as_a_command() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "esdc_api", "lint", "openapi/openapi.yaml"],
        cwd=data_dir(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("openapi/openapi.yaml: no errors ("), done.stdout


@dataclass(frozen=True)
class Defect:
    """A defect planted in one file of a copy of the spec, and the report line it must get."""

    name: str
    file: str
    old: str
    new: str
    expected: str  # the start of the report line: "file#pointer: [rule]"
    says: str  # a part of its message

    def __str__(self) -> str:
        return self.name


DEFECTS = [
    Defect(
        "example-value-outside-its-enum",
        "examples/task.yaml",
        "StatusSuccess:\n  summary: Ended successfully\n  value:\n    status: SUCCESS",
        "StatusSuccess:\n  summary: Ended successfully\n  value:\n    status: DONE",
        "openapi/examples/task.yaml#/StatusSuccess/value/status: [example]",
        "'DONE' is not one of",
    ),
    Defect(
        "example-breaking-uri-format",
        "examples/tasklog.yaml",
        "next: https://my.erigones.com/api/task/log/?page=5",
        "next: not a URL",
        "openapi/examples/tasklog.yaml#/LogPageMiddle/value/next: [example]",
        "'not a URL' is not a 'uri'",
    ),
    Defect(
        "example-breaking-date-time-format",
        "examples/accounts.yaml",
        'expires: "2026-11-02T13:00:00+00:00"',
        'expires: "2026-11-02 at one"',
        "openapi/examples/accounts.yaml#/Login/value/expires: [example]",
        "is not a 'date-time'",
    ),
    Defect(
        "parameter-example-breaking-date-format",
        "parameters/tasklog.yaml",
        "    the day may have one digit (`2026-1-5`), as Django's `parse_date` reads dates.\n",
        "    the day may have one digit (`2026-1-5`), as Django's `parse_date` reads dates.\n"
        '  example: "2026-13-28"\n',
        "openapi/parameters/tasklog.yaml#/DateFrom/example: [example]",
        "'2026-13-28' is not a 'date'",
    ),
    Defect(
        "schema-example-breaking-its-pattern",
        "schemas/task.yaml",
        "  example: 3e3d1-8c2f4a17-5b3e-4d21-a9f0\n  x-parts:",
        "  example: 0-4b48594c-2d77-4b72-a1e1\n  x-parts:",
        "openapi/schemas/task.yaml#/TaskId/example: [example]",
        "does not match",
    ),
    Defect(
        "header-example-of-the-wrong-type",
        "responses/headers.yaml",
        "  example: 21",
        "  example: soon",
        "openapi/responses/headers.yaml#/RetryAfter/example: [example]",
        "'soon' is not of type 'integer'",
    ),
    Defect(
        "operation-without-403",
        "paths/task-done.yaml",
        "    \"403\":\n      $ref: '../responses/common.yaml#/ForbiddenTask'\n",
        "",
        "openapi/paths/task-done.yaml#/get/responses/403: [operation]",
        "documents no 403 response",
    ),
    Defect(
        "operation-without-operation-id",
        "paths/task-done.yaml",
        "  operationId: taskDone\n",
        "",
        "openapi/paths/task-done.yaml#/get/operationId: [operation]",
        "GET /task/{task_id}/done/ has no operationId",
    ),
    Defect(
        "operation-without-description",
        "paths/task-state.yaml",
        "  description: |\n    The same as",
        "  x-description: |\n    The same as",
        "openapi/paths/task-state.yaml#/get/description: [operation]",
        "has no description",
    ),
    Defect(
        "2xx-media-type-without-examples",
        "paths/task-list.yaml",
        "          examples:\n"
        "            running:\n              $ref: '../examples/task.yaml#/TaskList'\n"
        "            empty:\n              $ref: '../examples/task.yaml#/TaskListEmpty'\n",
        "",
        "openapi/paths/task-list.yaml#/get/responses/200/content/application~1json/examples: "
        "[operation]",
        "has no example",
    ),
    Defect(
        "duplicate-operation-id",
        "paths/task-state.yaml",
        "operationId: taskState",
        "operationId: taskStatus",
        "openapi/paths/task-state.yaml#/get/operationId: [operation-id]",
        "'taskStatus' of GET /task/{task_id}/state/ is also that of GET /task/{task_id}/status/",
    ),
    Defect(
        "link-to-an-unknown-operation",
        "paths/task-list.yaml",
        "operationId: taskDetails\n          description: What started",
        "operationId: taskNope\n          description: What started",
        "openapi/paths/task-list.yaml#/get/responses/200/links/details/operationId: [link]",
        "'taskNope', which no operation has",
    ),
    Defect(
        "link-with-an-unknown-parameter",
        "paths/task-cancel.yaml",
        "task_id: $response.body#/task_id",
        "nope: $response.body#/task_id",
        "openapi/paths/task-cancel.yaml#/put/responses/410/links/status/parameters/nope: [link]",
        "passes parameter 'nope', which taskStatus (GET /task/{task_id}/status/) does not take",
    ),
    Defect(
        "es-example-with-an-undocumented-status",
        "paths/task-details.yaml",
        "status: 404\n      example: taskNotFound",
        "status: 418\n      example: taskNotFound",
        "openapi/paths/task-details.yaml#/get/x-es-examples/1/status: [x-es-examples]",
        "expects status 418, which GET /task/{task_id}/ does not document",
    ),
    Defect(
        "es-example-naming-a-missing-example",
        "paths/task-log-stats.yaml",
        "      example: lastHour\n",
        "      example: lastDay\n",
        "openapi/paths/task-log-stats.yaml#/get/x-es-examples/1/example: [x-es-examples]",
        "shows example 'lastDay', which the 200 response",
    ),
    Defect(
        "es-example-without-a-command",
        "paths/accounts-logout.yaml",
        "    - command: es logout",
        "    - run: es logout",
        "openapi/paths/accounts-logout.yaml#/get/x-es-examples/0: [x-es-examples]",
        "'command' is a required property",
    ),
    Defect(
        "x-invalid-status-that-is-not-an-integer",
        "parameters/tasklog.yaml",
        "    status: 404\n    detail: Invalid page.",
        "    status: not found\n    detail: Invalid page.",
        "openapi/parameters/tasklog.yaml#/Page/x-invalid/status: [x-invalid]",
        "'not found' is not of type 'integer'",
    ),
    Defect(
        "x-invalid-status-the-operation-does-not-document",
        "parameters/tasklog.yaml",
        "    status: 404\n    detail: Invalid page.",
        "    status: 410\n    detail: Invalid page.",
        "openapi/parameters/tasklog.yaml#/Page/x-invalid/status: [x-invalid]",
        "which GET /task/log/ does not document",
    ),
    Defect(
        "x-http-status-missing-a-state",
        "schemas/task.yaml",
        "    REVOKED: 410\n",
        "",
        "openapi/schemas/task.yaml#/TaskState/x-http-status/REVOKED: [x-http-status]",
        "state 'REVOKED' has no HTTP status",
    ),
    Defect(
        "x-http-status-mapping-to-a-non-status",
        "schemas/task.yaml",
        "    SUCCESS: 200\n",
        "    SUCCESS: OK\n",
        "openapi/schemas/task.yaml#/TaskState/x-http-status/SUCCESS: [x-http-status]",
        "expected an HTTP status code",
    ),
    Defect(
        "meta-schema-unknown-type",
        "schemas/errors.yaml",
        "Error:\n  title: Error\n  type: object",
        "Error:\n  title: Error\n  type: strng",
        "openapi/schemas/errors.yaml#/Error/type: [meta-schema]",
        "'strng' is not one of",
    ),
    Defect(
        "meta-schema-response-without-description",
        "responses/common.yaml",
        "  description: The `Accept` header does not allow `application/json`.\n",
        "",
        "openapi/responses/common.yaml#/NotAcceptable: [meta-schema]",
        "'description' is a required property (OpenAPI 3.0 Response object)",
    ),
    Defect(
        "meta-schema-misspelt-field",
        "paths/accounts-login.yaml",
        "  summary: Log in and get a token",
        "  sumary: Log in and get a token",
        "openapi/paths/accounts-login.yaml#/post/sumary: [meta-schema]",
        "unknown field 'sumary' (OpenAPI 3.0 Operation object)",
    ),
    Defect(
        "meta-schema-path-parameter-not-declared",
        "paths/task-done.yaml",
        "parameters:\n  - $ref: '../parameters/common.yaml#/TaskId'\n",
        "",
        "openapi/paths/task-done.yaml#/get: [meta-schema]",
        "Path parameter 'task_id' for 'get' operation in '/task/{task_id}/done/' was not resolved",
    ),
    Defect(
        "ref-to-a-missing-pointer",
        "paths/task-log-stats.yaml",
        "'../examples/tasklog.yaml#/StatsHour'",
        "'../examples/tasklog.yaml#/StatsHours'",
        "openapi/paths/task-log-stats.yaml#/get/responses/200/content/application~1json/examples/"
        "lastHour/$ref: [ref]",
        "openapi/examples/tasklog.yaml has no '/StatsHours'",
    ),
    Defect(
        "ref-to-a-missing-file",
        "paths/task-log-stats.yaml",
        "'../schemas/tasklog.yaml#/TaskLogStats'",
        "'../schemas/stats.yaml#/TaskLogStats'",
        "openapi/paths/task-log-stats.yaml#/get/responses/200/content/application~1json/schema/"
        "$ref: [ref]",
        "names a file that does not exist",
    ),
    Defect(
        "file-that-is-not-yaml",
        "examples/accounts.yaml",
        "LoginRequest:\n  summary: alice logs in",
        "LoginRequest:\n  summary: [alice logs in",
        "openapi/examples/accounts.yaml#: [ref]",
        "cannot read the file",
    ),
    Defect(
        "allow-missing-a-method",
        "paths/task-details.yaml",
        "x-allow: [GET, OPTIONS, DELETE]",
        "x-allow: [GET, OPTIONS]",
        "openapi/paths/task-details.yaml#/x-allow: [x-allow]",
        "must list DELETE, GET, OPTIONS once each",
    ),
    Defect(
        "empty-view-name",
        "paths/task-done.yaml",
        "x-view-name: Task Done",
        "x-view-name: ''",
        "openapi/paths/task-done.yaml#/x-view-name: [x-view-name]",
        "must be the view's name",
    ),
]


@pytest.mark.parametrize("defect", DEFECTS, ids=str)
def test_lint_reports_a_planted_defect_at_its_file_and_pointer(
    defect: Defect, runner: CliRunner, spec_copy: Path, plant: Plant
) -> None:
    plant(defect.file, defect.old, defect.new)

    result = runner.invoke(cli, ["lint", str(spec_copy)])

    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.splitlines() if line.startswith(defect.expected)]
    assert lines, f"no line starts with {defect.expected!r} in:\n{result.output}"
    assert defect.says in lines[0]


def test_lint_prints_one_line_per_problem_then_a_summary(
    runner: CliRunner, spec_copy: Path, plant: Plant
) -> None:
    plant("examples/task.yaml", DEFECTS[0].old, DEFECTS[0].new)

    result = runner.invoke(cli, ["lint", str(spec_copy)])

    problem, summary = result.output.splitlines()
    assert problem == (
        "openapi/examples/task.yaml#/StatusSuccess/value/status: [example] 'DONE' is not one of "
        "['PENDING', 'STARTED', 'SUCCESS', 'FAILURE', 'REVOKED'] "
        "(schema openapi/schemas/task.yaml#/TaskState/enum)"
    )
    assert re.fullmatch(
        r"openapi/openapi\.yaml: 1 error in 1 file \(25 files, 23 operations, \d+ examples\)",
        summary,
    )


def test_lint_lists_every_problem_not_only_the_first(
    runner: CliRunner, spec_copy: Path, plant: Plant
) -> None:
    planted = [DEFECTS[0], DEFECTS[11], DEFECTS[20]]
    for defect in planted:
        plant(defect.file, defect.old, defect.new)

    result = runner.invoke(cli, ["lint", str(spec_copy)])

    assert result.exit_code == 1
    for defect in planted:
        assert defect.expected in result.output


def test_a_missing_spec_is_a_usage_error(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(cli, ["lint", str(tmp_path / "nope.yaml")])

    assert result.exit_code == 2
    assert "does not exist" in result.output


def test_lint_checks_date_date_time_and_uri_formats() -> None:
    checker = lint.format_checker()

    assert not checker.conforms("2026-02-30", "date")
    assert not checker.conforms("2026-11-02T13:00:00", "date-time")  # no offset
    assert not checker.conforms("not a URL", "uri")
    assert checker.conforms("https://my.erigones.com/api/task/log/?page=4", "uri")
