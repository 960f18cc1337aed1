"""Reading the spec: the split YAML files under ``openapi/`` as one document, in two forms.

:func:`load_bundle`
    the **bundle**: one document whose shared definitions stay references to
    ``components/`` (:mod:`esdc_api.bundler`). The reference server serves it at
    ``/api/openapi.json``, ``esdc-api bundle`` writes it, and code generators read it.
:func:`load_spec`
    the **resolved** form: every ``$ref`` replaced by what it points at. The reference server's
    router and validation, the contract tests and the docs read this one.

Both are made from :func:`esdc_api.sourcemap.load` and kept, in-process and as JSON in
:func:`esdc_api.resources.cache_dir`, keyed by the content of every file under the spec's
folder and of the modules that make them. The project's own spec is found through
:mod:`esdc_api.resources`, in a checkout or in an installed wheel alike.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import yaml

from esdc_api import resources
from esdc_api.errors import SpecError, SpecNotFound

#: The root file of the task API's spec.
SPEC_ROOT = resources.path("openapi", "openapi.yaml")
#: The root file of the reference server's control API.
CONTROL_SPEC_ROOT = resources.path("openapi", "control", "openapi.yaml")

Spec = dict[str, Any]


def default_spec_path() -> Path:
    """The spec to use when none is named: ``$ESDC_SPEC`` or the project's own."""
    return Path(os.environ.get("ESDC_SPEC", SPEC_ROOT))


def _sources_digest(root: Path) -> str:
    digest = hashlib.sha256(str(root).encode())
    for path in sorted(root.parent.rglob("*")):
        if path.suffix in {".yaml", ".yml", ".json"} and path.is_file():
            digest.update(str(path.relative_to(root.parent)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:20]


#: The modules the two forms are made by: a change to one is a change to the forms.
_MAKERS = ("spec.py", "sourcemap.py", "bundler.py")


@functools.lru_cache(maxsize=8)
def _forms(root: Path, digest: str) -> tuple[Spec, Spec]:
    """Both forms, made from the files, or read as JSON from what an earlier process made of
    the same files with the same code (:func:`esdc_api.resources.cache_dir`): reading the
    YAML and bundling it was about a tenth of the reference server's start."""
    made_by = hashlib.sha256(yaml.__version__.encode())
    for name in _MAKERS:
        made_by.update((Path(__file__).parent / name).read_bytes())
    folder = resources.cache_dir("spec")
    kept = None if folder is None else folder / f"{digest}-{made_by.hexdigest()[:20]}.json"
    if kept is not None:
        try:
            document, resolved = json.loads(kept.read_text(encoding="utf-8"))
            return document, resolved
        except (OSError, ValueError):  # none yet, or damaged: made again
            pass
    from esdc_api import bundler, sourcemap

    bundled = bundler.bundle(sourcemap.load(root))
    forms = bundled.document, bundled.resolved()
    if kept is not None:
        _keep(kept, forms)
    return forms


def _keep(path: Path, forms: tuple[Spec, Spec]) -> None:
    """Write ``forms`` to ``path`` if JSON gives them back as they are (YAML may hold dates or
    number keys, which JSON would change)."""
    try:
        text = json.dumps(list(forms), ensure_ascii=False)
    except (TypeError, ValueError):
        return
    if json.loads(text) != list(forms):
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f"{path.name}.{os.getpid()}")
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, path)  # whole or not at all, however many processes write it
    except OSError:  # a read-only home: made again next time
        pass


def _path(root: Path | str | None) -> Path:
    path = Path(root) if root is not None else default_spec_path()
    if not path.is_file():
        raise SpecNotFound(path)
    return path.resolve()


def load_bundle(root: Path | str | None = None) -> Spec:
    """Return the bundle: the spec in one document, its shared definitions as references to
    ``components/`` (a fresh copy the caller may change).

    :param root: the spec's root file; by default :func:`default_spec_path`.
    :raises SpecNotFound: if ``root`` does not exist.
    :raises SpecError: if a file cannot be parsed or a ``$ref`` cannot be resolved.
    """
    path = _path(root)
    return copy.deepcopy(_forms(path, _sources_digest(path))[0])


def load_spec(root: Path | str | None = None) -> Spec:
    """Return the resolved spec, every ``$ref`` replaced (a fresh copy the caller may change).

    :param root: the spec's root file; by default :func:`default_spec_path`.
    :raises SpecNotFound: if ``root`` does not exist.
    :raises SpecError: if a file cannot be parsed, a ``$ref`` cannot be resolved, or the spec
        refers to itself (a recursive schema has no resolved form).
    """
    path = _path(root)
    return copy.deepcopy(_forms(path, _sources_digest(path))[1])


def dump(spec: Spec, path: Path) -> None:
    """Write ``spec`` to ``path``, as YAML if it ends in ``.yaml``/``.yml``, else as JSON."""
    if path.suffix in {".yaml", ".yml"}:
        text = yaml.safe_dump(spec, sort_keys=False, allow_unicode=True, width=100)
    elif path.suffix == ".json":
        text = json.dumps(spec, indent=2, ensure_ascii=False) + "\n"
    else:
        raise SpecError(f"cannot tell the format of {str(path)!r}: name it .json, .yaml or .yml")
    path.write_text(text)


def operations(spec: Spec) -> list[tuple[str, str, dict[str, Any]]]:
    """Every operation of ``spec`` as ``(path, method, operation)``, in spec order."""
    methods = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
    found = []
    for path, item in spec.get("paths", {}).items():
        for method in methods:
            if method in item:
                found.append((path, method, item[method]))
    return found
