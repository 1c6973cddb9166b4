"""Language-server settings: `teamkb.toml` ([lsp] and the engine's own settings) first,
then whatever the client sends for the `teamkb` section of `workspace/configuration`."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from engine.settings import Settings

log = logging.getLogger(__name__)

GENERATORS = ("llamacpp", "ollama", "none")


@dataclass(frozen=True)
class LspSettings:
    collection: str
    # The client's override only; empty means the collection's configured paths.
    docs_folders: tuple[str, ...] = ()
    generator: str = "none"
    max_sources: int = 3

    @classmethod
    def from_engine(cls, settings: Settings) -> LspSettings:
        section = settings.section("lsp")
        name = str(section.get("collection") or settings.default_collection)
        base = cls(collection=name, generator=settings.generator.backend)
        return base.merged(section)

    def merged(self, data: Any) -> LspSettings:
        """Apply client settings; bad values are logged and ignored, so a typo in an
        editor's config never takes the server down."""
        if not isinstance(data, Mapping):
            return self
        changes: dict[str, Any] = {}
        collection = data.get("collection")
        if isinstance(collection, str) and collection.strip():
            changes["collection"] = collection.strip()
        folders = data.get("docsFolders", data.get("docs_folders"))
        if isinstance(folders, str):
            folders = [folders]
        if isinstance(folders, list | tuple) and all(isinstance(f, str) for f in folders):
            changes["docs_folders"] = tuple(folders)
        generator = data.get("generator")
        if generator is not None:
            if generator in GENERATORS:
                changes["generator"] = generator
            else:
                log.warning("ignoring teamkb.generator=%r: use one of %s", generator, GENERATORS)
        max_sources = data.get("maxSources", data.get("max_sources"))
        if max_sources is not None:
            valid = isinstance(max_sources, int) and not isinstance(max_sources, bool)
            if valid and 1 <= max_sources <= 20:
                changes["max_sources"] = max_sources
            else:
                log.warning("ignoring teamkb.maxSources=%r: use an integer 1-20", max_sources)
        return replace(self, **changes) if changes else self
