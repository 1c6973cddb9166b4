"""Plain-text rendering of engine results for the terminal."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # annotations only: engine.types pulls in pyarrow
    from engine import Answer, Citation, Passage


def citation_line(c: Citation) -> str:
    """The source, its exact lines, and the quote that backs the answer (exact doc text,
    one `>` line per file line)."""
    head = f"{c.title} › {c.heading}" if c.heading else c.title
    line = f"  [{c.n}] {head} — {c.location}"
    if c.url:
        line += f"\n      {c.url}"
    if c.quote:
        line += "".join(f"\n      > {q.rstrip()}" for q in c.quote.split("\n"))
    return line


def answer_text(answer: Answer, *, include_body: bool = True) -> str:
    out = [answer.text] if include_body else []
    if answer.notice:
        out.append(f"\nNote: {answer.notice}")
    if answer.citations:
        out.append(f"\n{answer.citations_label}:")
        out.extend(citation_line(c) for c in answer.citations)
    return "\n".join(out)


def passages_text(passages: Sequence[Passage]) -> str:
    blocks = []
    for i, p in enumerate(passages, start=1):
        head = f"{p.title} › {p.heading}" if p.heading else p.title
        snippet = " ".join(p.text.split())
        if len(snippet) > 300:
            snippet = snippet[:297] + "…"
        blocks.append(f"{i}. {head}  ({p.location}, score {p.score:.3f})\n   {snippet}")
    return "\n".join(blocks)


def dumps(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False)
