"""Language-server settings: `teamkb.toml` ([lsp] and the engine's own settings) first,
then whatever the client sends for the `teamkb` section of `workspace/configuration`."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    StringConstraints,
    ValidationError,
    field_validator,
)

from engine import Settings

log = logging.getLogger(__name__)

GENERATORS = ("llamacpp", "ollama", "none")
Generator = Literal["llamacpp", "ollama", "none"]
# What the log says when a client sends a bad value, by field.
HINTS = {
    "collection": ("collection", "use a collection name"),
    "docs_folders": ("docsFolders", "use a folder or a list of folders"),
    "generator": ("generator", f"use one of {GENERATORS}"),
    "max_sources": ("maxSources", "use an integer 1-20"),
}


class LspSettings(BaseModel):
    # Strict: an editor's "3" or true is a typo to report, not a value to coerce.
    model_config = ConfigDict(frozen=True, strict=True)

    collection: Annotated[StrictStr, StringConstraints(strip_whitespace=True, min_length=1)]
    # The client's override only; empty means the collection's configured paths.
    docs_folders: tuple[StrictStr, ...] = Field(
        default=(), validation_alias=AliasChoices("docsFolders", "docs_folders")
    )
    generator: Generator = "none"
    max_sources: StrictInt = Field(
        default=3, ge=1, le=20, validation_alias=AliasChoices("maxSources", "max_sources")
    )

    @field_validator("docs_folders", mode="before")
    @classmethod
    def _folders(cls, value: Any) -> Any:
        # One folder may be given as a string; JSON lists become the tuple kept here.
        if isinstance(value, str):
            return (value,)
        return tuple(value) if isinstance(value, list) else value

    @classmethod
    def from_engine(cls, settings: Settings) -> LspSettings:
        base = cls(collection=settings.default_collection, generator=settings.generator.backend)
        return base.merged(settings.section("lsp"))

    def merged(self, data: Any) -> LspSettings:
        """Apply client settings; bad values are logged and ignored one by one, so a typo
        in an editor's config never takes the server down nor drops the good values."""
        if not isinstance(data, Mapping):
            return self
        # The client's keys (camelCase or snake_case) override the current values.
        candidate = {**self.model_dump(), **data}
        try:
            new = LspSettings.model_validate(candidate)
        except ValidationError as exc:
            for name in {_field(e["loc"]) for e in exc.errors()}:
                raw = _given(data, name)
                if raw is not None:  # null means "not set", not a mistake
                    key, hint = HINTS[name]
                    log.warning("ignoring teamkb.%s=%r: %s", key, raw, hint)
                for alias in _aliases(name):
                    candidate.pop(alias, None)
                candidate[name] = getattr(self, name)
            new = LspSettings.model_validate(candidate)
        return self if new == self else new


def _aliases(name: str) -> tuple[str, ...]:
    alias = LspSettings.model_fields[name].validation_alias
    return tuple(str(a) for a in alias.choices) if isinstance(alias, AliasChoices) else (name,)


def _field(loc: tuple[int | str, ...]) -> str:
    """The field a validation error is about, whichever of its keys the client used."""
    key = str(loc[0])
    return next(name for name in LspSettings.model_fields if key in _aliases(name))


def _given(data: Mapping[str, Any], name: str) -> Any:
    """The value the client gave for a field: the first of its keys that is present."""
    return next((data[key] for key in _aliases(name) if key in data), None)
