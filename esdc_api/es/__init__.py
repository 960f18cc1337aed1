"""``es``, a command-line client for the Danube Cloud API that behaves as Danube Cloud's own.

Use :func:`run` to run it in-process::

    import shlex
    from starlette.testclient import TestClient
    from esdc_api.es import run

    client = TestClient(app, base_url="http://127.0.0.1:8000")
    exit_code = run(shlex.split("es get /task"), client=client, env={}, stdout=buffer)

This package depends on httpx only.
"""

from esdc_api.es.cli import run as run
from esdc_api.es.client import ES_VERSION as ES_VERSION
from esdc_api.es.errors import ExitCode as ExitCode

__all__ = ["ES_VERSION", "ExitCode", "run"]
