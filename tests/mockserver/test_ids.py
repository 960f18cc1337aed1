from random import Random

import pytest

from mockserver.ids import TaskGroup, TaskType, dummy_group, new_task_id, parse


def test_modern_id_parses_into_its_parts() -> None:
    tid = parse("3e4d1-8c2f4a17-5b3e-4d21-a9f0")
    assert tid is not None
    assert (tid.creator, tid.type, tid.owner, tid.group, tid.dc) == (
        3,
        TaskType.EXEC,
        4,
        TaskGroup.DC_BOUND,
        1,
    )
    assert str(tid) == "3e4d1-8c2f4a17-5b3e-4d21-a9f0"


@pytest.mark.parametrize(
    "task_id",
    [
        "0-4b48594c-2d77-4b72-a1e1",  # the legacy form of the old docs
        "1e1-4b48594c-2d77-4b72-a1e1",  # the older short prefix
        "1x1d1-4b48594c-2d77-4b72-a1e1",  # unknown type letter
        "1e1z1-4b48594c-2d77-4b72-a1e1",  # unknown group letter
        "1e1d1-4b48594c-2d77-4b72",  # a group short
        "1e1d1-4b48594-2d77-4b72-a1e1",  # 7 characters where 8 belong
        "1E1d1-4b48594c-2d77-4b72-a1e1",  # letters are lower case
        "e1d1-4b48594c-2d77-4b72-a1e1",  # no creator
        "log",
        "",
    ],
)
def test_ids_real_deployments_reject_do_not_parse(task_id: str) -> None:
    assert parse(task_id) is None


def test_suffix_is_checked_for_length_not_for_hex() -> None:
    assert parse("1e1d1-zzzzzzzz-zzzz-zzzz-zzzz") is not None


def test_new_ids_are_reproducible_with_a_seeded_rng_and_parse_back() -> None:
    first = new_task_id(3, 4, 1, rng=Random(7))
    assert first == new_task_id(3, 4, 1, rng=Random(7))
    assert parse(str(first)) == first
    assert len(first.suffix) == 24


def test_dummy_ids_carry_the_md5_of_the_creator() -> None:
    tid = new_task_id(1, 1, 1, type=TaskType.DUMMY, dummy=True, rng=Random(1))
    assert tid.suffix[1:9] == "6f75849b" == dummy_group(1)  # as in the docs of Danube Cloud
    assert tid.is_dummy
    assert not new_task_id(1, 1, 1, rng=Random(1)).is_dummy


@pytest.mark.parametrize(
    ("task_id", "log_type"),
    [
        ("1d1d1-4b48594c-2d77-4b72-a1e1", 0),
        ("1e1d1-4b48594c-2d77-4b72-a1e1", 1),
        ("7a1d1-4b48594c-2d77-4b72-a1e1", 2),
        ("1e1u1-4b48594c-2d77-4b72-a1e1", 101),
        ("1f1u1-4b48594c-2d77-4b72-a1e1", 105),
    ],
)
def test_log_task_type_is_group_times_100_plus_type_index(task_id: str, log_type: int) -> None:
    tid = parse(task_id)
    assert tid is not None and tid.log_type == log_type
