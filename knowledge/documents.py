"""Value types that cross the knowledge layer's boundaries."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Section:
    """A run of text under one heading trail, with its 1-based line span in the source."""

    heading: tuple[str, ...]
    text: str
    line_start: int
    line_end: int


@dataclass(frozen=True)
class LoadedDoc:
    path: str  # relative POSIX path, as shown to users
    title: str
    sections: tuple[Section, ...]


@dataclass(frozen=True)
class Chunk:
    id: str
    collection: str
    source: str
    title: str
    heading: str
    line_start: int
    line_end: int
    text: str
    search_text: str  # what is embedded and full-text indexed: title + heading + text
    text_hash: str
    file_hash: str
    updated_at: str  # ISO 8601 modification time of the source file
