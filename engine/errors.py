"""Typed errors. `str(err)` is always safe to show a user; details go to logs."""

from knowledge.errors import IndexNotFound, KnowledgeError
from state import ConfigError, TeamkbError


class InvalidQuestion(TeamkbError):
    """Empty, overlong or otherwise unusable question."""


class GeneratorUnavailable(TeamkbError):
    """The model could not be reached or failed; the engine degrades to sources."""


class GenerationTimeout(GeneratorUnavailable):
    pass


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
    "TeamkbError",
]
