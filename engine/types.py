"""Frozen value types at the engine's boundary; every front end renders these."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from knowledge.documents import Passage, location
from knowledge.store import CollectionInfo

__all__ = [
    "Answer",
    "Citation",
    "CollectionInfo",
    "Passage",
    "Prompt",
    "StreamEvent",
    "Turn",
    "location",
]

Role = Literal["user", "assistant"]
SOURCES_LABEL = "Sources"
CLOSEST_LABEL = "Closest passages"


@dataclass(frozen=True)
class Turn:
    """One message of a conversation (a Slack thread, an editor chat)."""

    role: Role
    text: str


@dataclass(frozen=True)
class Citation:
    n: int
    source: str
    title: str
    heading: str
    lines: tuple[int, int]
    url: str | None  # a link to the lines, or None when the collection has no URL template
    collection: str = ""
    snippet: str = ""
    updated_at: str = ""
    # The exact doc text that backs the answer (a sentence, list item or table row, at
    # most ~300 characters) and its own file lines, narrower than the passage's `lines`.
    quote: str = ""
    quote_lines: tuple[int, int] | None = None

    @property
    def location(self) -> str:
        """Where to look: the quote's lines when there is a quote, else the passage's."""
        return location(self.source, self.quote_lines or self.lines)

    def to_record(self) -> dict[str, Any]:
        """Every field, for stores that read the citation back (`Answer.from_json`)."""
        ql = list(self.quote_lines) if self.quote_lines else None
        return {**asdict(self), "lines": list(self.lines), "quote_lines": ql}

    def to_json(self) -> dict[str, Any]:
        """For users and scripts: `lines` are the quote's lines when there is a quote
        (`passage_lines` keeps the whole passage's span)."""
        out: dict[str, Any] = {
            "n": self.n,
            "source": self.source,
            "title": self.title,
            "heading": self.heading,
            "lines": list(self.quote_lines or self.lines),
            "url": self.url,
        }
        if self.quote:
            out["quote"] = self.quote
            out["passage_lines"] = list(self.lines)
        return out


@dataclass(frozen=True)
class Answer:
    question: str
    text: str
    citations: tuple[Citation, ...]
    abstained: bool = False
    unsupported: bool = False  # generated, but cites nothing that was retrieved
    degraded: bool = False  # the model failed; the answer is the sources alone
    notice: str = ""  # a user-facing caveat (degraded, unsupported, abstained)
    model: str = ""
    adapter: str = ""
    collection: str = ""
    cached: bool = False
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def cites_sources(self) -> bool:
        """True when the citations back the text; False when they are only the closest
        passages (a decline, or an answer nothing supports). Every front end labels them
        by this one decision."""
        return not (self.abstained or self.unsupported)

    @property
    def citations_label(self) -> str:
        return SOURCES_LABEL if self.cites_sources else CLOSEST_LABEL

    def to_json(self) -> dict[str, Any]:
        return {
            "answer": self.text,
            "citations": [c.to_json() for c in self.citations],
            "abstained": self.abstained,
            "unsupported": self.unsupported,
            "degraded": self.degraded,
            "notice": self.notice,
            "model": self.model,
            "adapter": self.adapter or None,
            "collection": self.collection,
            "cached": self.cached,
            "timings": {k: round(v, 4) for k, v in self.timings.items()},
        }

    def to_record(self) -> dict[str, Any]:
        """`to_json` with full citations: what caches and stores keep and read back."""
        return {**self.to_json(), "citations": [c.to_record() for c in self.citations]}

    @classmethod
    def from_json(cls, data: dict[str, Any], question: str) -> Answer:
        cites = tuple(
            Citation(
                n=c["n"], source=c["source"], title=c["title"], heading=c["heading"],
                lines=(c["lines"][0], c["lines"][1]), url=c.get("url"),
                collection=c.get("collection", ""), snippet=c.get("snippet", ""),
                updated_at=c.get("updated_at", ""), quote=c.get("quote", ""),
                quote_lines=(c["quote_lines"][0], c["quote_lines"][1]) if c.get("quote_lines")
                else None,
            )
            for c in data["citations"]
        )  # fmt: skip
        return cls(
            question=question,
            text=data["answer"],
            citations=cites,
            abstained=data["abstained"],
            unsupported=data.get("unsupported", False),
            degraded=data.get("degraded", False),
            notice=data.get("notice", ""),
            model=data.get("model", ""),
            adapter=data.get("adapter") or "",
            collection=data.get("collection", ""),
        )


@dataclass(frozen=True)
class Prompt:
    """A rendered prompt: `completion` for base models, `system` + `user` for chat models."""

    system: str
    user: str
    completion: str
    # Source of each numbered passage: sources[n - 1] is what marker [n] points at.
    sources: tuple[str, ...] = ()
    # The start of `completion` that every question shares (instructions, worked example):
    # a generator may keep it evaluated, so only what follows differs between questions.
    preamble: str = ""


@dataclass(frozen=True)
class StreamEvent:
    """`ask_stream` yields text deltas (`token`), then one event holding the final answer."""

    token: str = ""
    answer: Answer | None = None
