"""teamkb's engine: cited answers from a LanceDB knowledge base.

Public API: `Engine` (ask, ask_stream, search, sync), `build_engine(settings)`, the value
types and the errors. Front ends import from here only.
"""

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
from engine.settings import CollectionSettings, GeneratorSettings, RetrievalSettings, Settings
from engine.types import Answer, Citation, CollectionInfo, Passage, Prompt, StreamEvent, Turn

__all__ = [
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
]
