"""The Danube Cloud task API toolkit: the spec, and the ``esdc-api`` command line around it."""

__version__ = "0.1.0"
