"""A persistent answer cache. Its caller derives the keys from all that shapes an answer
(the engine's `answer_key`), so a re-index, a new adapter or a changed setting makes old
entries unreachable (they age out)."""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from state.sqlite import use_wal

log = logging.getLogger(__name__)

MAX_AGE_S = 14 * 24 * 3600


class AnswerCache:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False, timeout=5)
        use_wal(self._db)
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS answers (key TEXT PRIMARY KEY, value TEXT, at REAL)"
        )
        self._lock = threading.Lock()
        self._db.execute("DELETE FROM answers WHERE at < ?", (time.time() - MAX_AGE_S,))
        self._db.commit()

    def get(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM answers WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else None

    def put(self, key: str, value: dict[str, Any]) -> None:
        try:
            with self._lock:
                self._db.execute(
                    "INSERT OR REPLACE INTO answers VALUES (?, ?, ?)",
                    (key, json.dumps(value), time.time()),
                )
                self._db.commit()
        except sqlite3.Error:  # a full disk must not fail an answer
            log.exception("could not write the answer cache")
