"""Team vocabulary held in memory: glossary terms, service and runbook names, headings
and code spans from the index. Completion and the hover fast path read only this, so
they never touch disk or the embedder."""

from __future__ import annotations

import bisect
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from engine import HEADING_SEP, split_sentences

if TYPE_CHECKING:
    from engine import Engine, Passage

log = logging.getLogger(__name__)

CODE_SPAN = re.compile(r"`([^`\n]{2,60})`")
MD_NOISE = re.compile(r"^\s*(#+\s|[-*]\s|\d+\.\s|>\s?)")
# Kinds in order of preference when two sources name the same thing.
KINDS = ("term", "service", "runbook", "heading", "code")


@dataclass(frozen=True)
class Entry:
    label: str
    kind: str  # one of KINDS
    summary: str  # a definition-style sentence or two
    source: str  # path relative to the collection
    lines: tuple[int, int]
    heading: str = ""

    @property
    def key(self) -> str:
        return normalize(self.label)


def normalize(term: str) -> str:
    """Case, and the separators people swap freely (ledger-api, ledger_api)."""
    return re.sub(r"[\s_\-]+", "-", term.strip().strip("`").lower())


def summarize(text: str, limit: int = 320) -> str:
    lines = [MD_NOISE.sub("", ln).strip() for ln in text.splitlines()]
    body = " ".join(ln for ln in lines if ln and not set(ln) <= set("=-~^*#`|:"))
    out = ""
    for sentence in split_sentences(body, loose=True):
        if out and len(out) + len(sentence) > limit:
            break
        out = f"{out} {sentence}".strip()
    return out[:limit].rstrip() + ("…" if len(out) > limit else "")


def sentence_with(text: str, needle: str, *, loose: bool = False) -> str:
    """The table row or sentence of `text` that names `needle` (loose: compared after
    `normalize`), else a summary of the whole text."""

    def names(s: str) -> bool:
        return normalize(needle) in normalize(s) if loose else needle in s

    for line in text.splitlines():
        if line.lstrip().startswith("|") and names(line):
            # A settings-table row: "key · default · meaning" reads as a definition.
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            return " · ".join(c for c in cells if c)[:320]
    flat = " ".join(text.split())
    for sentence in split_sentences(flat, loose=True):
        if names(sentence):
            return sentence[:320]
    return summarize(text)


def _kind_for(source: str) -> str:
    parts = PurePosixPath(source.lower()).parts
    stem = PurePosixPath(source.lower()).stem
    if "glossary" in stem or "glossary" in parts[:-1]:
        return "term"
    if "services" in parts[:-1]:
        return "service"
    if "runbooks" in parts[:-1]:
        return "runbook"
    return "heading"


class Vocabulary:
    def __init__(self, entries: Iterable[Entry] = ()) -> None:
        best: dict[str, Entry] = {}
        for e in entries:
            old = best.get(e.key)
            if old is None or KINDS.index(e.kind) < KINDS.index(old.kind):
                best[e.key] = e
        self._by_key = best
        # Sorted keys make prefix completion a bisect, not a scan (10k chunks -> ~20k keys).
        self._keys = sorted(best)

    def __len__(self) -> int:
        return len(self._by_key)

    def entries(self) -> list[Entry]:
        """Every entry kept (one per key), in key order: what a snapshot stores."""
        return [self._by_key[k] for k in self._keys]

    def lookup(self, term: str) -> Entry | None:
        return self._by_key.get(normalize(term))

    def complete(self, prefix: str, limit: int = 50) -> list[Entry]:
        key = normalize(prefix)
        if not key:
            return []
        start = bisect.bisect_left(self._keys, key)
        end = bisect.bisect_left(self._keys, key + "\U0010ffff", lo=start)
        # Rank every match before cutting: a term late in the alphabet beats a code span.
        found = [self._by_key[k] for k in self._keys[start:end]]
        found.sort(key=lambda e: (KINDS.index(e.kind), e.key))
        return found[:limit]

    @classmethod
    def from_passages(cls, passages: Iterable[Passage]) -> Vocabulary:
        entries: list[Entry] = []
        seen_files: set[str] = set()
        for p in passages:
            source, text, title, heading, lines = p.source, p.text, p.title, p.heading, p.lines
            kind = _kind_for(source)
            if source not in seen_files and kind in ("service", "runbook"):
                seen_files.add(source)
                # Services and runbooks are known by their file name (ledger-api.md).
                entries.append(Entry(PurePosixPath(source).stem, kind, summarize(text), source,
                                     lines, heading))  # fmt: skip
                if title and normalize(title) != normalize(PurePosixPath(source).stem):
                    entries.append(Entry(title, kind, summarize(text), source, lines, heading))
            if heading:
                last = heading.split(HEADING_SEP)[-1].strip()
                if last and len(last) <= 80:
                    hkind = "term" if kind == "term" else "heading"
                    entries.append(Entry(last, hkind, summarize(text), source, lines, heading))
            for m in CODE_SPAN.finditer(text):
                span = m.group(1).strip()
                if span and not span.startswith("-") and "  " not in span:
                    entries.append(Entry(span, "code", sentence_with(text, f"`{m.group(1)}`"),
                                         source, lines, heading))  # fmt: skip
        return cls(entries)


def load_vocabulary(engine: Engine, collection: str) -> Vocabulary:
    passages = engine.chunks(collection)
    vocab = Vocabulary.from_passages(passages)
    log.info("vocabulary: %d entries from %d chunks (%s)", len(vocab), len(passages), collection)
    return vocab
