"""Heading-scoped sections with line spans, the shape every loader returns.

Line spans are 1-based and inclusive, so a citation can point at `path:start-end`.
PDFs have no stable lines: their span is the page range instead.
"""

from __future__ import annotations

from pathlib import Path

from knowledge.documents import LoadedDoc, Section, document_name
from knowledge.errors import LoadError

Heading = tuple[int, int, str, int]  # line index, level, title, lines it occupies


def by_headings(lines: list[str], headings: list[Heading]) -> list[Section]:
    """Cut `lines` at headings."""
    sections: list[Section] = []
    trail: list[tuple[int, str]] = []
    boundaries = [*headings, (len(lines), 0, "", 0)]
    prev_end = 0
    prev_trail: tuple[str, ...] = ()
    for idx, level, text, span in boundaries:
        body = lines[prev_end:idx]
        append_section(sections, prev_trail, body, prev_end)
        if level:
            while trail and trail[-1][0] >= level:
                trail.pop()
            trail.append((level, text))
        prev_trail = tuple(t for _, t in trail)
        prev_end = idx + span
    return sections


def append_section(
    sections: list[Section], trail: tuple[str, ...], body: list[str], first_index: int
) -> None:
    """`body` (lines from index `first_index`) as a section, blank lines around it cut;
    nothing when it is all blank."""
    start = 0
    while start < len(body) and not body[start].strip():
        start += 1
    end = len(body)
    while end > start and not body[end - 1].strip():
        end -= 1
    if start >= end:
        return
    text = "\n".join(body[start:end])
    sections.append(Section(trail, text, first_index + start + 1, first_index + end))


def name_title(rel: str) -> str:
    """A file's name without its suffixes, a title of last resort (`run` of `run.md.gz`)."""
    return Path(document_name(rel)).stem


def document(rel: str, title: str, sections: list[Section]) -> LoadedDoc:
    if not sections:
        raise LoadError(rel, "no text content found")
    return LoadedDoc(rel, title, tuple(sections))
