"""teamkb's engine: cited answers from a LanceDB knowledge base.

Public API: `Engine` (ask, ask_stream, search, sync), `build_engine(settings)`, the value
types and the errors, and the text rules front ends share (`split_sentences`, `CITATION_MARKER`,
`marker_numbers`). Front ends import from here only.

Names are resolved on first use (module `__getattr__`): `Engine` and `build_engine` pull in
LanceDB, pyarrow and numpy (seconds on a loaded laptop), and a front end that only needs
the errors or the settings, such as `teamkb --help` or the language server answering
`initialize`, must not pay for them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engine.engine import Engine
    from engine.errors import (
        USER_ERRORS,
        ConfigError,
        GeneratorUnavailable,
        IndexNotFound,
        InvalidQuestion,
        TeamkbError,
    )
    from engine.factory import build_engine
    from engine.settings import (
        CollectionSettings,
        GeneratorSettings,
        RetrievalSettings,
        Settings,
    )
    from engine.types import (
        Answer,
        Citation,
        CollectionInfo,
        Passage,
        Prompt,
        StreamEvent,
        Turn,
    )
    from knowledge.text import CITATION_MARKER, marker_numbers, split_sentences

# Public name -> the module that defines it.
_HOMES = {
    name: module
    for module, names in (
        ("engine.engine", "Engine"),
        ("engine.factory", "build_engine"),
        ("engine.errors", "USER_ERRORS ConfigError GeneratorUnavailable"),
        ("engine.errors", "IndexNotFound InvalidQuestion TeamkbError"),
        ("engine.settings", "CollectionSettings GeneratorSettings RetrievalSettings Settings"),
        ("engine.types", "Answer Citation CollectionInfo Passage Prompt StreamEvent Turn"),
        # The text rules a front end reads answers and docs by (knowledge.text).
        ("knowledge.text", "CITATION_MARKER marker_numbers split_sentences"),
    )
    for name in names.split()
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'engine' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value  # resolved once; later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_HOMES])


__all__ = [
    "CITATION_MARKER",
    "USER_ERRORS",
    "Answer",
    "Citation",
    "CollectionInfo",
    "CollectionSettings",
    "ConfigError",
    "Engine",
    "GeneratorSettings",
    "GeneratorUnavailable",
    "IndexNotFound",
    "InvalidQuestion",
    "Passage",
    "Prompt",
    "RetrievalSettings",
    "Settings",
    "StreamEvent",
    "TeamkbError",
    "Turn",
    "build_engine",
    "marker_numbers",
    "split_sentences",
]
