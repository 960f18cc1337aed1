"""Worlds: what a reference server holds, read from files, put into a store, written back.

- :func:`.install.read_world` reads a world file of ours (YAML or JSON) or an export of a real
  deployment's stores (:mod:`.esdc_export`), whichever the document is;
- :func:`.install.install` puts a world into an empty store as it stands at a moment;
- :func:`.install.export` reads the whole world back out of a store;
- :data:`DEMO_WORLD` is the demo world's file, shipped with the package for users to copy.
"""

from __future__ import annotations

from pathlib import Path

#: The demo world: accounts, datacenters, objects and the showcase tasks the spec's examples
#: name; its ``history`` adds a day of finished tasks.
DEMO_WORLD = Path(__file__).resolve().parent / "demo.yaml"
