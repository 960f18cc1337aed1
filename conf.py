"""Sphinx configuration of the API docs: sources in docs/, every endpoint fact from openapi/.

Build with ``esdc-api docs`` (or ``sphinx-build -W -c . docs build/docs/html``). The pages are
generated from the spec by :mod:`esdc_api.docs.extension`, which also runs every ``es`` example
against the reference server and fails the build when an answer differs from the spec.
"""

import sys
from pathlib import Path

# A checkout works without installing the toolkit. (In a wheel this file is a copy inside the
# installed package, esdc_api/_data/, and the toolkit is importable anyway.)
_checkout = Path(__file__).resolve().parent
if (_checkout / "esdc_api").is_dir():
    sys.path.insert(0, str(_checkout))

project = "Danube Cloud task API"
author = "Danube Cloud task API toolkit"
copyright = "the Danube Cloud task API toolkit authors"
release = version = "4.6"

extensions = [
    "sphinxcontrib.httpdomain",
    "sphinx_design",
    "esdc_api.docs.extension",
]

# The spec to document: empty means $ESDC_SPEC or the project's openapi/openapi.yaml.
esdc_spec = ""
# The moment the spec's examples describe (the demo world's documentation clock).
esdc_doc_time = "2026-11-02T12:00:00+00:00"

root_doc = "index"
exclude_patterns = ["_build"]
templates_path: list[str] = []
http_strict_mode = True

html_theme = "alabaster"
html_title = "Danube Cloud task API"
html_show_sourcelink = False
html_theme_options = {
    "description": "Generated from the OpenAPI spec; every example ran.",
    "fixed_sidebar": True,
    "page_width": "1100px",
}
