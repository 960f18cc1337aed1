"""Reading the spec: the split YAML files under ``openapi/`` bundled into one resolved document.

The bundle is what every other part uses (the reference server, the contract tests, the docs).
Resolving costs a few hundred milliseconds, so the result is cached in-process and on disk,
keyed by the content of every file under the spec's folder.
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

from esdc_api.errors import SpecError, SpecNotFound

REPO_ROOT = Path(__file__).resolve().parent.parent
#: The root file of the task API's spec.
SPEC_ROOT = REPO_ROOT / "openapi" / "openapi.yaml"
#: The root file of the reference server's control API.
CONTROL_SPEC_ROOT = REPO_ROOT / "openapi" / "control" / "openapi.yaml"

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


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "esdc-api"


def resolve(root: Path) -> Spec:
    """Bundle the spec at ``root`` with prance into one document with every ``$ref`` resolved.

    :raises SpecNotFound: if ``root`` does not exist.
    :raises SpecError: if a file cannot be parsed or a reference cannot be resolved.
    """
    root = Path(root)
    if not root.is_file():
        raise SpecNotFound(root)
    import prance  # imported here: it costs a tenth of a second

    try:
        parser = prance.ResolvingParser(str(root.resolve()), lazy=True, strict=False)
        parser.parse()
    except Exception as exc:  # prance raises many kinds, from YAML scanners to its own
        raise SpecError(f"cannot bundle {str(root)!r}: {exc}") from exc
    spec: Spec = parser.specification
    return spec


@functools.lru_cache(maxsize=8)
def _load_cached(root: Path, digest: str) -> Spec:
    cache_file = _cache_dir() / f"{root.stem}-{digest}.json"
    try:
        return json.loads(cache_file.read_text())  # type: ignore[no-any-return]
    except (OSError, ValueError):
        pass
    spec = resolve(root)
    try:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache_file.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(spec))
        tmp.replace(cache_file)
    except OSError:
        pass  # a read-only home only costs the next start the bundling time
    return spec


def load_spec(root: Path | str | None = None) -> Spec:
    """Return the bundled spec (a fresh copy the caller may change).

    :param root: the spec's root file; by default :func:`default_spec_path`.
    """
    path = Path(root) if root is not None else default_spec_path()
    if not path.is_file():
        raise SpecNotFound(path)
    path = path.resolve()
    return copy.deepcopy(_load_cached(path, _sources_digest(path)))


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
