"""The language of an answer and the Italian of the task API, by direct calls; cited by the
recorded exchange ``n`` of ``../shared/reference/real-4.6/transcript.jsonl``."""

from __future__ import annotations

import pytest

from mockserver.i18n import negotiate, translate, translate_body


@pytest.mark.parametrize(
    ("header", "language"),
    [
        (None, "en"),
        ("it", "it"),  # n=55
        ("it-IT,it;q=0.9,en;q=0.8", "it"),  # n=291
        ("de", "en"),  # n=292: not offered
        ("de, it;q=0.5", "it"),
        ("en;q=0.5, it;q=0.8", "it"),
        ("IT", "it"),
        ("*", "en"),
        ("it;q=0", "it"),  # Django 1.8 reads a quality of 0 as 1
        ("it;;;", "en"),  # a header Django cannot parse counts as none
    ],
)
def test_the_language_is_chosen_as_djangos_locale_middleware_does(
    header: str | None, language: str
) -> None:
    assert negotiate(header) == language


def test_the_recorded_messages_translate_and_the_others_stay_english() -> None:
    """n=99, 288, 100, 290."""
    assert translate("Permission denied", "it") == "Permesso negato"
    assert (
        translate("Select a valid choice. x y is not one of the available choices.", "it")
        == "Scegli un'opzione valida. x y non è tra quelle disponibili."
    )
    assert translate("Task does not exist", "it") == "Task does not exist"
    assert translate("Permission denied", "en") == "Permission denied"


def test_an_error_body_keeps_its_field_names() -> None:
    body = {"status": ["Select a valid choice. BAD is not one of the available choices."]}
    assert translate_body(body, "it") == {
        "status": ["Scegli un'opzione valida. BAD non è tra quelle disponibili."]
    }
