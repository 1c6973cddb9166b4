"""What teamkb knows of one document format: the rules every layer asks it for."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from knowledge.documents import LoadedDoc

Loader = Callable[[str, str], LoadedDoc]  # (file path, path shown to users)


def _as_is(text: str) -> str:
    return text


@dataclass(frozen=True)
class Format:
    name: str  # as users read it: "reStructuredText"
    suffixes: tuple[str, ...]  # lower case, a compound one (".rst.txt") included
    load: Loader
    # A passage as the model reads it in a prompt, and as its words are checked against.
    model_view: Callable[[str], str] = _as_is
    # An answer line folded from a quote, as the rendered page shows it.
    as_read: Callable[[str], str] = _as_is
    # Whether `name.gz` is read too (Debian gzips its larger docs).
    gzipped: bool = True
