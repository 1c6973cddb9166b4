"""Value types that cross the knowledge layer's boundaries."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


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


def document_name(source: str) -> str:
    """The name a document is read as: Debian gzips its larger docs (`run.md.gz` is
    Markdown, `git-log.txt.gz` AsciiDoc), and teamkb reads them as they are."""
    return source[: -len(".gz")] if source.lower().endswith(".gz") else source


def location(source: str, lines: tuple[int, int]) -> str:
    """`path:start-end` (or `path:line`): how every front end names a passage's place."""
    start, end = lines
    return f"{source}:{start}" if start == end else f"{source}:{start}-{end}"


@dataclass(frozen=True)
class Passage:
    """A stored chunk as readers see it: what search returns, what the engine cites from,
    what the language server and the evaluation scan. The one shape of a passage."""

    id: str
    collection: str
    source: str
    title: str
    heading: str
    lines: tuple[int, int]
    text: str
    score: float = 0.0  # the search mode's own ranking score (RRF, BM25 or 1 - distance)
    similarity: float = 0.0  # cosine similarity to the query, comparable across modes
    updated_at: str = ""
    url: str | None = None  # a link to the lines, when the collection has a URL template

    @property
    def location(self) -> str:
        return location(self.source, self.lines)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "source": self.source,
            "title": self.title,
            "heading": self.heading,
            "lines": list(self.lines),
            "score": round(self.score, 6),
            "text": self.text,
            "collection": self.collection,
            "url": self.url,
        }
