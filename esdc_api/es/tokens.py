"""The file that keeps the login token between runs of ``es``.

``es login`` writes the token the API answered with; every later run sends it as
``Authorization: Token <token>``; ``es logout`` removes the file once the API said goodbye. The
file is readable by its owner only (mode 0600), as in the original.
"""

from __future__ import annotations

import os
from pathlib import Path


class TokenStore:
    """The login token kept in the file at ``path``."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __repr__(self) -> str:
        return f"TokenStore({str(self.path)!r})"

    def read(self) -> str | None:
        """The stored token, or ``None`` if there is none or it cannot be read.

        An unreadable store is treated as no login, as the original did: the API then answers
        403 and says why.
        """
        try:
            token = self.path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError):
            return None
        return token or None

    def write(self, token: str) -> None:
        """Store ``token`` in a file only its owner can read, creating its folder if needed.

        :raises OSError: if the file cannot be written.
        """
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            # O_CREAT's mode applies only to a new file; an old one may be readable by others.
            os.fchmod(file.fileno(), 0o600)
            file.write(token)

    def remove(self) -> None:
        """Forget the token; a store that is already gone is fine."""
        self.path.unlink(missing_ok=True)
