"""Typed errors. `str(err)` is always safe to show a user; details go to logs."""

from knowledge.errors import IndexNotFound, KnowledgeError, LoadError


class TeamkbError(Exception):
    """Base class of engine errors."""


class InvalidQuestion(TeamkbError):
    """Empty, overlong or otherwise unusable question."""


class ConfigError(TeamkbError):
    """Settings that cannot work; the message says which key and how to fix it."""


class GeneratorUnavailable(TeamkbError):
    """The model could not be reached or failed; the engine degrades to sources."""


class GenerationTimeout(GeneratorUnavailable):
    pass


class StateUnavailable(Exception):
    """The shared state store (PostgreSQL) could not be reached mid-run. Not a user
    error: callers keep the write and retry it (`engine.feedback_retry`)."""


# Knowledge-layer errors are user-safe too; front ends catch both families.
USER_ERRORS: tuple[type[Exception], ...] = (TeamkbError, KnowledgeError)

__all__ = [
    "USER_ERRORS",
    "ConfigError",
    "GenerationTimeout",
    "GeneratorUnavailable",
    "IndexNotFound",
    "InvalidQuestion",
    "KnowledgeError",
    "LoadError",
    "StateUnavailable",
    "TeamkbError",
]
