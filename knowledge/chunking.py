"""Heading-aware chunking: sections stay whole when they fit, long ones are split with
LangChain's recursive splitter, and every chunk keeps its heading trail and line span."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from functools import lru_cache
from typing import TYPE_CHECKING

from knowledge.documents import Chunk, LoadedDoc

if TYPE_CHECKING:
    from langchain_text_splitters import RecursiveCharacterTextSplitter

# all-MiniLM-L6-v2 reads at most 256 word pieces (~1,000 characters of English prose);
# longer chunks would be silently truncated by the embedder.
DEFAULT_MAX_CHARS = 900
DEFAULT_OVERLAP = 120
# Bump when a loader or the chunker changes what an unchanged file becomes: sync folds
# it into every file's hash, so the next index run re-chunks every file (vectors of
# unchanged text are reused, only changed chunks are embedded).
CHUNKING_VERSION = 6
HEADING_SEP = " › "


@lru_cache(maxsize=8)
def _splitter(max_chars: int, overlap: int) -> RecursiveCharacterTextSplitter:
    # Imported here: readers of HEADING_SEP (the language server) need no LangChain.
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    return RecursiveCharacterTextSplitter(
        chunk_size=max_chars,
        chunk_overlap=overlap,
        add_start_index=True,
        separators=["\n\n", "\n", ". ", " ", ""],
    )


def embedded_text(title: str, heading: str, text: str) -> str:
    """What is embedded and full-text indexed of a chunk (and what a re-ranker reads):
    its title and heading path, then its text."""
    context = f"{title}{HEADING_SEP}{heading}" if heading else title
    return f"{context}\n{text}"


def sha1(text: str) -> str:
    # surrogateescape: a path os.walk decoded from non-UTF-8 bytes still hashes.
    return hashlib.sha1(text.encode("utf-8", "surrogateescape")).hexdigest()


def chunk_document(
    doc: LoadedDoc,
    *,
    collection: str,
    file_hash: str,
    updated_at: str,
    max_chars: int = DEFAULT_MAX_CHARS,
    overlap: int = DEFAULT_OVERLAP,
) -> Iterator[Chunk]:
    """Yield chunks with ids that depend only on (collection, path, heading, ordinal),
    so an edited chunk keeps its id and is updated in place, not duplicated."""
    ordinals: dict[str, int] = {}
    for section in doc.sections:
        trail = section.heading
        if trail and trail[0].strip().lower() == doc.title.strip().lower():
            trail = trail[1:]  # the H1 is the title: no need to say it twice
        heading = HEADING_SEP.join(trail)
        pieces: list[tuple[str, int]]
        if len(section.text) <= max_chars:
            pieces = [(section.text, 0)]
        else:
            pieces = [
                (d.page_content, int(d.metadata.get("start_index", 0)))
                for d in _splitter(max_chars, overlap).create_documents([section.text])
            ]
        for text, offset in pieces:
            # Lines are counted from the section start, so span maps back to the file.
            first = section.line_start + section.text.count("\n", 0, max(offset, 0))
            last = min(first + text.count("\n"), section.line_end)
            if section.line_start == section.line_end:  # PDF pages, one-line sections
                first = last = section.line_start
            ordinal = ordinals.get(heading, 0)
            ordinals[heading] = ordinal + 1
            search_text = embedded_text(doc.title, heading, text)
            yield Chunk(
                id=sha1(f"{collection}\0{doc.path}\0{heading}\0{ordinal}")[:24],
                collection=collection,
                source=doc.path,
                title=doc.title,
                heading=heading,
                line_start=first,
                line_end=last,
                text=text,
                search_text=search_text,
                text_hash=sha1(search_text),
                file_hash=file_hash,
                updated_at=updated_at,
            )
