"""Building the docs site: what ``esdc-api docs`` runs.

Sphinx reads ``docs/`` with the root ``conf.py`` (in a wheel, their copies in the package:
:mod:`esdc_api.resources`), from a fresh environment every time (the examples run anew on every
build anyway), and treats every warning as an error. Nothing is written next to the sources.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO

from esdc_api import resources

#: Where ``esdc-api docs`` writes the site by default, under the working directory;
#: ``esdc-api serve`` run from the same directory serves it under /docs/.
DEFAULT_OUTPUT = Path("build", "docs", "html")
SOURCE_DIR = resources.path("docs")


def build(
    output: Path = DEFAULT_OUTPUT,
    *,
    spec_path: Path | None = None,
    status: TextIO | None = sys.stdout,
    warning: TextIO | None = sys.stderr,
) -> Path:
    """Build the HTML site into ``output`` and return the path of its index page.

    :param spec_path: the spec's root file; by default ``$ESDC_SPEC`` or the project's own.
    :param status: where Sphinx reports progress (a line per executed example); ``None``: nowhere.
    :param warning: where Sphinx reports warnings.
    :raises esdc_api.docs.errors.DocsError: if an example answered otherwise than the spec says,
        or the spec lacks what the pages need.
    :raises sphinx.errors.SphinxError: if Sphinx failed, or warned (warnings are errors).
    """
    from sphinx.application import Sphinx
    from sphinx.errors import SphinxError
    from sphinx.util.docutils import docutils_namespace, patch_docutils

    overrides = {"esdc_spec": str(spec_path)} if spec_path is not None else {}
    confdir = resources.data_dir()  # conf.py
    with patch_docutils(confdir), docutils_namespace():
        app = Sphinx(
            srcdir=SOURCE_DIR,
            confdir=confdir,
            outdir=output,
            doctreedir=output / ".doctrees",
            buildername="html",
            confoverrides=overrides,
            status=status,
            warning=warning,
            freshenv=True,
            warningiserror=True,
        )
        app.build()
    if app.statuscode:
        raise SphinxError(
            f"the docs build failed: warnings are errors (see above); output {output}"
        )
    return output / "index.html"
