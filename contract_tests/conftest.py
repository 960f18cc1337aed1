"""Loads the contract plugin for this directory only (not for the project's other tests)."""

pytest_plugins = ["contract_tests.plugin"]
