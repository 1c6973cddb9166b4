"""Citation quotes as Markdown: the exact doc lines behind an answer, for hovers and
answer documents."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the server answers `initialize` before the engine's imports load
    from engine import Citation


def quote_markdown(c: Citation) -> list[str]:
    """A blockquote of the citation's quote, one `>` line per file line ([] without one).
    Backticks stay: the quote is exact doc text, code spans render as code."""
    if not c.quote:
        return []
    return [f"> {line.rstrip()}" if line.strip() else ">" for line in c.quote.split("\n")]
