"""The SQLite files the embedded stores keep (answer cache, feedback, Slack state)."""

from __future__ import annotations

import sqlite3
import time
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


def use_wal(db: sqlite3.Connection, *, wait_s: float = 10.0) -> None:
    """Switch `db` to write-ahead logging, waiting while another process does the same.

    SQLite answers "database is locked" to a journal-mode switch at once, without its
    busy handler, when two processes open a new file together (two `teamkb index` runs
    did so in CI), so the wait is here."""
    deadline = time.monotonic() + wait_s
    delay = 0.01
    while True:
        try:
            db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.2)
