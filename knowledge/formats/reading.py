"""A document's text from disk: size-limited, gunzipped, decoded, with line ends made `\\n`.

The one place that decompresses: formats are looked up by their name without `.gz`
(knowledge.formats.of), and every loader reads its text here.
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

from knowledge.errors import LoadError

MAX_FILE_BYTES = 20 * 1024 * 1024


def read_text(path: Path, rel: str) -> str:
    try:
        data = _gunzip(path, rel) if path.name.lower().endswith(".gz") else path.read_bytes()
    except OSError as exc:
        raise LoadError(rel, f"cannot read file ({exc.strerror or exc})") from exc
    if not data.strip():
        raise LoadError(rel, "empty file")
    if b"\x00" in data[:8192]:
        raise LoadError(rel, "binary content (NUL bytes); not a text document")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise LoadError(rel, f"not valid UTF-8 text (byte {exc.start})") from exc
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _gunzip(path: Path, rel: str) -> bytes:
    """A gzipped document's text, read no further than MAX_FILE_BYTES: a small file may
    unpack to gigabytes."""
    try:
        with gzip.open(path, "rb") as f:
            data = f.read(MAX_FILE_BYTES + 1)
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise LoadError(rel, f"not a readable gzip file ({exc})") from exc
    if len(data) > MAX_FILE_BYTES:
        limit = MAX_FILE_BYTES / (1024 * 1024)
        raise LoadError(rel, f"unpacks to more than {limit:g} MiB")
    return data


def check_size(path: Path, rel: str) -> int:
    """The file's size, from `stat` (nothing is read); LoadError past MAX_FILE_BYTES."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise LoadError(rel, f"cannot read file ({exc.strerror or exc})") from exc
    if size > MAX_FILE_BYTES:
        limit = MAX_FILE_BYTES / (1024 * 1024)
        raise LoadError(rel, f"file too large ({size / (1024 * 1024):.0f} MiB > {limit:g} MiB)")
    return size
