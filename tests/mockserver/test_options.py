"""What OPTIONS answers, generated from the spec in the layout real deployments use; cited by
the recorded exchange ``n`` of ``../shared/reference/real-4.6/transcript.jsonl``."""

from __future__ import annotations

from esdc_api.spec import load_spec
from mockserver.options import describe, metadata


def test_the_description_has_the_real_docstrings_structure() -> None:
    """n=93: a summary line naming each method, then one reST block per method."""
    item = load_spec()["paths"]["/task/{task_id}/"]
    text = describe("/task/{task_id}/", item)
    summary, get_block, delete_block = text.split("\n\n", 2)
    assert ":http:get:`GET </task/(task_id)>`" in summary
    assert ":http:delete:`DELETE </task/(task_id)>`" in summary
    assert get_block == ".. http:get:: /task/(task_id)"
    lines = delete_block.splitlines()
    for expected in (
        "    :DC-bound?:",
        "        * |dc-yes|",
        "    :Permissions:",
        "        * |UserTask|",
        "    :Asynchronous?:",
        "        * |async-no|",
        "    :arg string task_id: **required** - The task id.",
    ):
        assert expected in lines
    assert "    :status 200: The call that started the task." in lines
    assert ".. http:delete:: /task/(task_id)" in text
    assert "        * |SuperAdmin|" in text.split(".. http:delete::")[1]


def test_query_parameters_and_body_fields_are_args_with_their_types() -> None:
    """n=171, 170: ``:arg data.x:`` with ``(default: ...)`` and a ``:type data.x:`` line."""
    spec = load_spec()
    log = describe("/task/log/", spec["paths"]["/task/log/"])
    assert "    :type data.status: string (one of: PENDING, SUCCESS, FAILURE, REVOKED)" in log
    assert ":arg data.show_running: " in log and "(default: false)" in log
    assert ":arg data.dc:" not in log
    cancel = describe("/task/{task_id}/cancel/", spec["paths"]["/task/{task_id}/cancel/"])
    assert "    :type data.force: boolean" in cancel
    assert "    :Permissions:\n        * |TaskCreator|" in cancel


def test_the_name_is_the_paths_view_name() -> None:
    """n=168, 174: /state/ is served by the status view; login is "Api Login"."""
    spec = load_spec()
    assert metadata("/task/{task_id}/state/", spec["paths"]["/task/{task_id}/state/"])["name"] == (
        "Task Status"
    )
    assert metadata("/accounts/login/", spec["paths"]["/accounts/login/"])["name"] == "Api Login"
