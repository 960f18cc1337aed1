"""The reference server: a simulated Danube Cloud deployment answering the task API."""

from mockserver.app import ReferenceServer as ReferenceServer
from mockserver.app import create_app as create_app
from mockserver.settings import Settings as Settings

__all__ = ["ReferenceServer", "Settings", "create_app"]
