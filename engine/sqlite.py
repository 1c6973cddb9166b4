"""The SQLite files the embedded stores keep (feedback here, Slack state in `bot`)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def transaction(path: Path) -> Iterator[sqlite3.Connection]:
    """A connection for one transaction: committed on success, rolled back on error, and
    always closed. One per call keeps threads apart without sharing a connection."""
    db = sqlite3.connect(path, timeout=10)
    try:
        with db:
            yield db
    finally:
        db.close()
