"""An answer to one request, as recorded or as a server gives it during the replay."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

#: What :meth:`Answer.json` returns for a body that is not JSON.
NOT_JSON: Any = object()


@dataclass(frozen=True)
class Answer:
    """A status, the headers in the order received, and the body's bytes."""

    status: int
    headers: Sequence[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        """The value of header ``name`` (any case); repeated headers joined with ``", "``."""
        values = [value for key, value in self.headers if key.lower() == name.lower()]
        return ", ".join(values) if values else None

    def header_names(self) -> set[str]:
        """The names of the headers present, in lower case."""
        return {key.lower() for key, _value in self.headers}

    def json(self) -> Any:
        """The body's JSON value, or :data:`NOT_JSON`."""
        try:
            return json.loads(self.body.decode("utf-8"))
        except ValueError:  # UnicodeDecodeError is one
            return NOT_JSON

    def text(self) -> str:
        """The body as text, for messages (undecodable bytes shown escaped)."""
        return self.body.decode("utf-8", errors="backslashreplace")
