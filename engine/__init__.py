"""teamkb's engine: cited answers from a LanceDB knowledge base.

Public API: `Engine` (ask, ask_stream, search, sync), the factories (`build_engine` and
the parts it is made of), the value types and the errors, and what the front ends show or
build on: the text rules (`split_sentences`, `CITATION_MARKER`, `marker_numbers`), the
index run's report, and for retraining the prompt, the passage sentences and the adapter
pointer. Front ends (bot, lsp, finetune, teamkb) import from here and `engine.evaluation`
only, never a submodule nor `knowledge` (tests/test_architecture.py checks it).

Names are resolved on first use (module `__getattr__`): `Engine` and `build_engine` pull in
LanceDB, pyarrow and numpy (seconds on a loaded laptop), and a front end that only needs
the errors or the settings, such as `teamkb --help` or the language server answering
`initialize`, must not pay for them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engine.adapters import AdapterPointer, adapters_dir, read_current, write_current
    from engine.engine import Engine
    from engine.errors import (
        USER_ERRORS,
        ConfigError,
        GeneratorUnavailable,
        IndexNotFound,
        InvalidQuestion,
        TeamkbError,
    )
    from engine.evidence import Sentence, is_rst, passage_sentences
    from engine.factory import build_embedder, build_engine, build_generator, build_reranker
    from engine.generators.llamacpp import packaged_model
    from engine.prompting import DECLINE, build_prompt, prompt_budget
    from engine.rendering import model_view
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
    from knowledge.chunking import HEADING_SEP
    from knowledge.sync import SkippedFile, SyncReport
    from knowledge.text import CITATION_MARKER, marker_numbers, split_sentences

# Public name -> the module that defines it.
_HOMES = {
    name: module
    for module, names in (
        ("engine.engine", "Engine"),
        ("engine.factory", "build_embedder build_engine build_generator build_reranker"),
        ("engine.errors", "USER_ERRORS ConfigError GeneratorUnavailable"),
        ("engine.errors", "IndexNotFound InvalidQuestion TeamkbError"),
        ("engine.settings", "CollectionSettings GeneratorSettings RetrievalSettings Settings"),
        ("engine.types", "Answer Citation CollectionInfo Passage Prompt StreamEvent Turn"),
        # The index run's report and the heading trail's separator, as front ends show them.
        ("knowledge.sync", "SkippedFile SyncReport"),
        ("knowledge.chunking", "HEADING_SEP"),
        # What retraining builds its examples and adapters from: the same prompt, the same
        # sentences and the same model view as an answer, and the adapter pointer.
        ("engine.adapters", "AdapterPointer adapters_dir read_current write_current"),
        ("engine.evidence", "Sentence is_rst passage_sentences"),
        ("engine.prompting", "DECLINE build_prompt prompt_budget"),
        ("engine.rendering", "model_view"),
        ("engine.generators.llamacpp", "packaged_model"),
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
    "DECLINE",
    "HEADING_SEP",
    "USER_ERRORS",
    "AdapterPointer",
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
    "Sentence",
    "Settings",
    "SkippedFile",
    "StreamEvent",
    "SyncReport",
    "TeamkbError",
    "Turn",
    "adapters_dir",
    "build_embedder",
    "build_engine",
    "build_generator",
    "build_prompt",
    "build_reranker",
    "is_rst",
    "marker_numbers",
    "model_view",
    "packaged_model",
    "passage_sentences",
    "prompt_budget",
    "read_current",
    "split_sentences",
    "write_current",
]
