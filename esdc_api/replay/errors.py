"""Errors of the replay.

::

    ToolkitError
    └── ReplayError          the replay cannot start or go on
        ├── TranscriptError  the transcript cannot be read (a line, a field)
        ├── WorldError       the world file cannot be read, or lacks what the replay needs
        └── TargetError      the server cannot be reached, or its control API refused a step
"""

from __future__ import annotations

from pathlib import Path

from esdc_api.errors import ToolkitError


class ReplayError(ToolkitError):
    """The base of the replay's errors: each says what to fix."""


class TranscriptError(ReplayError):
    """Raised when the transcript is missing, or a line of it is not an exchange."""

    def __init__(self, path: Path, message: str, line: int | None = None) -> None:
        where = f"{path}:{line}" if line is not None else str(path)
        super().__init__(f"transcript {where}: {message}")
        self.path = path
        self.line = line


class WorldError(ReplayError):
    """Raised when the world file is missing, unreadable, or lacks credentials or a moment."""

    def __init__(self, path: Path, message: str) -> None:
        super().__init__(f"world {path}: {message}")
        self.path = path


class TargetError(ReplayError):
    """Raised when the server does not answer, or its control API refuses a step of the replay."""
