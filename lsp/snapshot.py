"""The vocabulary on disk, so a restarted server answers glossary and service hovers at
once: reading it takes milliseconds, reading 10k chunks from the index seconds (plus the
LanceDB import). A snapshot is only a head start: the server replaces it with the
vocabulary read from the index as soon as that is loaded.

One file per collection, `<home>/lsp-vocabulary/<collection>-v<published version>.json`,
written atomically (a reader never sees half a file) after each successful read."""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
from pathlib import Path

from lsp.vocabulary import Entry, Vocabulary

log = logging.getLogger(__name__)

# Bumped when Entry or the way entries are made changes: an older file is then ignored.
FORMAT = 1
DIRNAME = "lsp-vocabulary"


def snapshot_dir(home: Path) -> Path:
    return home / DIRNAME


def _versions(home: Path, collection: str) -> list[tuple[int, Path]]:
    """The collection's snapshot files, newest version first."""
    pattern = re.compile(re.escape(collection) + r"-v(\d+)\.json")
    try:
        paths = list(snapshot_dir(home).iterdir())
    except OSError:  # no directory yet: no snapshot
        return []
    found = [(int(m.group(1)), p) for p in paths if (m := pattern.fullmatch(p.name))]
    return sorted(found, reverse=True)


def read_snapshot(home: Path, collection: str) -> tuple[Vocabulary, int] | None:
    """The newest snapshot of the collection and its index version, or None when there is
    none usable. A damaged file is logged and ignored: it only costs the head start."""
    for version, path in _versions(home, collection):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("format") != FORMAT or data.get("collection") != collection:
                continue
            entries = [Entry(label, kind, summary, source, (start, end), heading)
                       for label, kind, summary, source, start, end, heading
                       in data["entries"]]  # fmt: skip
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("vocabulary snapshot %s unreadable: %s", path.name, exc)
            continue
        return Vocabulary(entries), version
    return None


def write_snapshot(home: Path, collection: str, version: int, vocabulary: Vocabulary) -> Path:
    """Write the snapshot for this index version and remove the collection's older ones."""
    folder = snapshot_dir(home)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{collection}-v{version}.json"
    rows = [[e.label, e.kind, e.summary, e.source, e.lines[0], e.lines[1], e.heading]
            for e in vocabulary.entries()]  # fmt: skip
    data = {"format": FORMAT, "collection": collection, "version": version, "entries": rows}
    # A temporary file in the same folder, then os.replace: atomic on POSIX and Windows,
    # so a server starting meanwhile reads the old file or the new one, never a torn one.
    fd, tmp = tempfile.mkstemp(prefix=f".{collection}-", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, ensure_ascii=False, separators=(",", ":"))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    for old, old_path in _versions(home, collection):
        if old != version:
            old_path.unlink(missing_ok=True)
    return path
