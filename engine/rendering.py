"""A passage's text as its readers see it: the model in a prompt, a person in an
answer line. Quotes under an answer keep the docs' exact text; these do not. Each
format says how its text reads (knowledge.formats); a file of no known format reads
as it is.

- `model_view`: what the model reads and its words are checked against. AsciiDoc (git's
  docs) without the lines a reader never sees and with its inline markup rendered: a
  copied `linkgit:git-push[1]` was taken for a citation of passage 1.
- `as_read`: an answer line folded from a quote, rendered as the page shows it
  (reStructuredText roles, links and Sphinx directives; AsciiDoc inline markup).
"""

from __future__ import annotations

from knowledge import formats


def is_asciidoc(source: str) -> bool:
    return formats.of(source) is formats.asciidoc.FORMAT


def model_view(text: str, source: str) -> str:
    """A passage's text as the model reads it in a prompt and as its words are checked
    against."""
    found = formats.of(source)
    return found.model_view(text) if found else text


def as_read(text: str, source: str) -> str:
    """Inline markup of `source`'s format as a reader sees it rendered: an answer line is
    read, not checked against the file (its quotes keep the docs' exact text)."""
    found = formats.of(source)
    return found.as_read(text) if found else text
