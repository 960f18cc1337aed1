"""The build step that puts the repository's data into the package (pyproject.toml has the rest).

The spec, the docs sources and the linters' settings live at the top of the repository, where
they are edited. A wheel carries a copy of them as ``esdc_api/_data/``, which
:mod:`esdc_api.resources` reads; an editable install copies nothing and reads the checkout.
The list of what is copied is ``esdc_api.resources.SHIPPED``; MANIFEST.in puts the same files
into the sdist, so that a wheel built from it has them too.
"""

import runpy
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
RESOURCES = runpy.run_path(str(HERE / "esdc_api" / "resources.py"))


class BuildPyWithData(build_py):
    """``build_py``, then the shipped files copied to ``<build>/esdc_api/_data/``."""

    def run(self) -> None:
        super().run()
        if self.editable_mode:
            return  # the checkout is read in place
        target = Path(self.build_lib) / "esdc_api" / RESOURCES["PACKAGED_DIR"]
        if target.exists():
            shutil.rmtree(target)  # a file deleted since the last build must not linger
        for name in RESOURCES["SHIPPED"]:
            source = HERE / name
            if source.is_dir():
                shutil.copytree(
                    source, target / name, ignore=shutil.ignore_patterns("__pycache__", "_build")
                )
            else:
                target.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target / name)


setup(cmdclass={"build_py": BuildPyWithData})
