"""Benchmarks of the reference server: against Prism on the same spec and requests, and with
the task log at the sizes real deployments reach. Run ``python -m bench --help``.

Not timed tests: a harness that starts the servers, loads them with ``wrk`` and prints what
it measured (``BENCHMARKS.md`` holds the latest figures). ``tests/bench/`` tests its logic.
"""
