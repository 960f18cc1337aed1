"""The language of an answer, chosen as Django's ``LocaleMiddleware`` chooses it, and the
Italian the task API answers with.

Real deployments offer English and Italian (``LANGUAGES``) and pick one from the
``Accept-Language`` header; every answer then says which in ``Content-Language`` and carries
``Vary: Accept-Language, Cookie``. Only a few messages of the task API have an Italian
translation (most of its messages are Danube Cloud's own and untranslated): they are the table
below, as recorded from a real 4.6 deployment. Nothing else is translated.
"""

from __future__ import annotations

import re
from typing import Any

ENGLISH, ITALIAN = "en", "it"
#: The languages real deployments offer, the default first.
LANGUAGES = (ENGLISH, ITALIAN)
#: What every answer of the task API says it varies by.
VARY = "Accept-Language, Cookie"

#: English message -> Italian, for the messages of the task API that real deployments translate;
#: ``%s`` stands for a value quoted in the message.
_ITALIAN = {
    "Permission denied": "Permesso negato",
    "Select a valid choice. %s is not one of the available choices.": (
        "Scegli un'opzione valida. %s non è tra quelle disponibili."
    ),
}

_RANGE = re.compile(
    r"(?P<lang>[a-z]{1,8}(?:-[a-z0-9]{1,8})*|\*)"
    r"(?:\s*;\s*q=(?P<q>0(?:\.\d{0,3})?|1(?:\.0{0,3})?))?"
)


def _compile(template: str) -> re.Pattern[str]:
    before, placeholder, after = template.partition("%s")
    value = "(?P<value>.*)" if placeholder else ""
    return re.compile(re.escape(before) + value + re.escape(after), re.DOTALL)


_TABLE = [(_compile(english), italian) for english, italian in _ITALIAN.items()]


def accepted_languages(header: str) -> list[str]:
    """The language ranges of an ``Accept-Language`` header, preferred first.

    As Django 1.8 reads them: a header it cannot parse as a whole counts as none, and a
    quality of 0 reads as 1. One pass over the header, whatever its length.
    """
    ranges: list[tuple[str, float]] = []
    for piece in header.lower().split(","):
        found = _RANGE.fullmatch(piece.strip())
        if found is None:
            return []
        quality = float(found["q"]) if found["q"] else 0.0
        ranges.append((found["lang"], quality or 1.0))
    ranges.sort(key=lambda item: item[1], reverse=True)
    return [lang for lang, _quality in ranges]


def negotiate(accept_language: str | None) -> str:
    """The language of the answer to a request with this ``Accept-Language`` header."""
    for lang in accepted_languages(accept_language or ""):
        if lang == "*":
            break
        generic = lang.split("-")[0]
        for code in (lang, generic):
            if code in LANGUAGES:
                return code
    return ENGLISH


def translate(message: str, language: str) -> str:
    """``message`` in ``language``; itself when the task API sends it untranslated."""
    if language != ITALIAN:
        return message
    for pattern, italian in _TABLE:
        found = pattern.fullmatch(message)
        if found is not None:
            value = found.groupdict().get("value")
            return italian if value is None else italian.replace("%s", value, 1)
    return message


def translate_body(body: Any, language: str) -> Any:
    """An error body with every message in it translated (field names are kept)."""
    if language == ENGLISH:
        return body
    if isinstance(body, str):
        return translate(body, language)
    if isinstance(body, list):
        return [translate_body(item, language) for item in body]
    if isinstance(body, dict):
        return {key: translate_body(value, language) for key, value in body.items()}
    return body
