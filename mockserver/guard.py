"""Which requests reach the reference server, and which of them may change its world.

(Filled in by the following commits.)
"""

from __future__ import annotations


def is_control_path(path: str) -> bool:
    """Whether ``path`` is the control API's: ``/control`` and everything under it, and a
    named world's ``/w/{name}/control`` and everything under that."""
    if path.startswith("/control"):
        return len(path) == 8 or path[8] == "/"
    if path.startswith("/w/"):
        parts = path.split("/", 4)  # "", "w", name, "control", rest
        return len(parts) >= 4 and parts[3] == "control"
    return False
