"""Safe reads of open documents: unknown URIs, binary or huge files and positions out of
range give None, so no handler has to think about bad input."""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import unquote

from lsprotocol import types

log = logging.getLogger(__name__)

MAX_DOC_CHARS = 2_000_000
MAX_LINE_CHARS = 10_000
# Identifiers people hover in code and prose: ledger-api, ledger.max_batch_size, auth_svc.
WORD_START = re.compile(r"[A-Za-z0-9_.\-]*$")
WORD_END = re.compile(r"^[A-Za-z0-9_.\-]*")


def open_document(ls: Any, uri: str) -> Any | None:
    """The document if the client opened it and it is text of a sane size."""
    # Only open documents: get_text_document() would read any path from disk. pygls keys
    # them by the unquoted URI (file:///a b.py for file:///a%20b.py).
    doc = ls.workspace.text_documents.get(unquote(uri))
    if doc is None:
        return None
    source = doc.source
    if len(source) > MAX_DOC_CHARS or "\x00" in source[:8192]:
        return None
    return doc


def line_at(doc: Any, position: types.Position) -> tuple[str, int] | None:
    """(line text, cursor column in code points), or None for a position off the text.

    Splits the document once: call it once per request and pass the result on."""
    if position.line < 0 or position.character < 0:
        return None
    lines = doc.lines
    if position.line >= len(lines):
        return None
    line = lines[position.line].rstrip("\r\n")
    if len(line) > MAX_LINE_CHARS:
        return None
    codec = doc.position_codec
    # The codec clamps a column past the end; a client sending one is out of sync.
    if position.character > codec.client_num_units(line):
        return None
    try:
        col = codec.position_from_client_units([line], types.Position(0, position.character))
    except Exception:  # the codec rejects positions it cannot map
        return None
    if col.character > len(line):
        return None
    return line, col.character


def word_at(doc: Any, position: types.Position) -> str | None:
    """The identifier under the cursor, or None for a position off the text."""
    # pygls' own lookup would clamp a bad position (or fail on it): check it first.
    if line_at(doc, position) is None:
        return None
    word = doc.word_at_position(position, re_start_word=WORD_START, re_end_word=WORD_END)
    # A sentence's full stop or a dash run is not part of the name.
    return str(word).strip(".-")


def prefix_at(line: str, col: int) -> str:
    m = WORD_START.search(line[:col])
    return m.group(0).lstrip(".-") if m else ""


def text_in(doc: Any, rng: types.Range) -> str:
    try:
        return str(doc.text_in_client_range(rng))
    except Exception:
        return ""
