"""What only the Slack bot needs to remember: the `SlackState` interface, its SQLite
implementation (the default) and `open_slack_state`, which picks PostgreSQL
(`state.slack_postgres`) when `state_url` is set so that replicas share the retry-dedup claims,
the shared marks and the answered threads.

SQLite file: `<home>/slack-state.sqlite` (`feedback.sqlite` keeps the answers and the
feedback that retraining reads; nothing but the bot reads this one). Tables:

    seen      events already handled (Slack retries, message + app_mention twice)
      key TEXT PRIMARY KEY, at TEXT
    shared    answers posted with "Share in channel"
      answer_id TEXT PRIMARY KEY, at TEXT
    threads   threads the bot answered in, so that replies there are follow-ups
      channel TEXT, thread_ts TEXT, at TEXT, PRIMARY KEY (channel, thread_ts)

On first use in a home whose `feedback.sqlite` predates this file, the same facts are
copied from there once (see `state.slack_import`), so an upgrade forgets nothing.
"""

from __future__ import annotations

import logging
import secrets
import sqlite3
import threading
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

from state.feedback import feedback_path
from state.slack_import import import_legacy
from state.sqlite import transaction, use_wal

log = logging.getLogger(__name__)


def schema(prefix: str = "") -> str:
    """The Slack tables, the same on SQLite and PostgreSQL; PostgreSQL's share a database
    with other apps, hence their prefix."""
    return f"""
CREATE TABLE IF NOT EXISTS {prefix}seen (key TEXT PRIMARY KEY, at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS {prefix}shared (answer_id TEXT PRIMARY KEY, at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS {prefix}threads (
  channel TEXT NOT NULL, thread_ts TEXT NOT NULL, at TEXT NOT NULL,
  PRIMARY KEY (channel, thread_ts)
);
"""


def slack_state_path(home: Path) -> Path:
    return Path(home) / "slack-state.sqlite"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class SlackState(Protocol):
    def claim(self, key: str, *, keep_days: int = 2) -> bool:
        """True for the one caller (of all replicas) that first claims `key`."""
        ...

    def mark_shared(self, answer_id: str) -> bool:
        """True the first time only, so that two clicks never post the answer twice."""
        ...

    def unmark_shared(self, answer_id: str) -> None: ...

    def shared_at(self, answer_id: str) -> str:
        """When the answer was shared (ISO 8601 UTC), '' if it was not."""
        ...

    def add_thread(self, channel: str, thread_ts: str) -> None: ...

    def answered_thread(self, channel: str, thread_ts: str) -> bool: ...

    def close(self) -> None: ...


def open_slack_state(home: Path, state_url: str) -> SlackState:
    """PostgreSQL when `state_url` is set (several replicas), else the SQLite file in
    the data folder `home`."""
    if state_url:
        from state.slack_postgres import PostgresSlackState

        return PostgresSlackState(state_url)
    return SQLiteSlackState(slack_state_path(home), legacy=feedback_path(home))


class SQLiteSlackState:
    def __init__(self, path: Path, *, legacy: Path | None = None) -> None:
        """`legacy`: a `feedback.sqlite` to copy the old Slack-only facts from, once."""
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fresh = not self.path.exists()
        # One connection per call keeps threads apart; the lock serialises writers in
        # this process so that SQLite never answers "database is locked".
        self._lock = threading.Lock()
        with self._lock, self._connect() as db:
            use_wal(db)
            db.executescript(schema())
            if fresh and legacy is not None and legacy.exists():
                import_legacy(db, legacy)

    def _connect(self) -> AbstractContextManager[sqlite3.Connection]:
        return transaction(self.path)

    # -- deduplication -------------------------------------------------------------
    def claim(self, key: str, *, keep_days: int = 2) -> bool:
        """True if `key` was never claimed: the caller handles the event, others skip.

        Stored on disk so that a retry arriving after a restart is still recognised."""
        with self._lock, self._connect() as db:
            cur = db.execute("INSERT OR IGNORE INTO seen VALUES (?, ?)", (key, _now()))
            if cur.rowcount == 1 and secrets.randbelow(200) == 0:  # prune now and then
                cutoff = (datetime.now(UTC) - timedelta(days=keep_days)).isoformat()
                db.execute("DELETE FROM seen WHERE at < ?", (cutoff,))
            return cur.rowcount == 1

    # -- Share in channel ----------------------------------------------------------
    def mark_shared(self, answer_id: str) -> bool:
        """True the first time only, so that two clicks never post the answer twice."""
        with self._lock, self._connect() as db:
            cur = db.execute("INSERT OR IGNORE INTO shared VALUES (?, ?)", (answer_id, _now()))
            return cur.rowcount == 1

    def unmark_shared(self, answer_id: str) -> None:
        """Undo `mark_shared` when the post failed, so that the user can share again."""
        with self._lock, self._connect() as db:
            db.execute("DELETE FROM shared WHERE answer_id = ?", (answer_id,))

    def shared_at(self, answer_id: str) -> str:
        """When the answer was shared (ISO 8601 UTC), '' if it was not."""
        with self._connect() as db:
            row = db.execute("SELECT at FROM shared WHERE answer_id = ?", (answer_id,)).fetchone()
        return str(row[0]) if row else ""

    # -- threads -------------------------------------------------------------------
    def add_thread(self, channel: str, thread_ts: str) -> None:
        """Remember a thread the bot answered in."""
        with self._lock, self._connect() as db:
            db.execute(
                "INSERT OR IGNORE INTO threads VALUES (?, ?, ?)", (channel, thread_ts, _now())
            )

    def answered_thread(self, channel: str, thread_ts: str) -> bool:
        with self._connect() as db:
            row = db.execute(
                "SELECT 1 FROM threads WHERE channel = ? AND thread_ts = ?",
                (channel, thread_ts),
            ).fetchone()
        return row is not None

    def close(self) -> None:
        """Nothing is held open: each call has its own connection."""
