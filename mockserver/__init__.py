"""The reference server: a simulated Danube Cloud deployment answering the task API."""

from mockserver.lean import import_connexion

import_connexion()  # before anything of the server imports connexion: see mockserver.lean

from mockserver.app import ReferenceServer as ReferenceServer  # noqa: E402
from mockserver.app import create_app as create_app  # noqa: E402
from mockserver.settings import Settings as Settings  # noqa: E402

__all__ = ["ReferenceServer", "Settings", "create_app"]
