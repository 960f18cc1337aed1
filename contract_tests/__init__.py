"""Contract tests of the Danube Cloud task API: a pytest suite that tells how a deployment
differs from the spec.

Run it against the reference server in-process with ``pytest contract_tests``, or against a
deployment with ``esdc-api check URL --api-key KEY`` (``pytest contract_tests --esdc-url URL
--esdc-api-key KEY``). The plugin (:mod:`contract_tests.plugin`) is loaded by this directory's
``conftest.py``, so it stays out of the project's other test runs.
"""
