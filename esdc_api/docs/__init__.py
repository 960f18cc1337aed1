"""The API docs: Sphinx pages generated from the spec, with every ``es`` example executed.

:mod:`esdc_api.docs.extension` is the Sphinx extension (``conf.py`` at the repository root loads
it); :func:`esdc_api.docs.build.build` is what ``esdc-api docs`` runs. This package imports
Sphinx, the reference server and ``es``; nothing else of the toolkit imports it.
"""
