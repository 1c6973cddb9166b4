"""One-time copy of the Slack-only facts that `feedback.sqlite` held before they moved
to `slack-state.sqlite`: handled events (`seen`), `answers.shared_at` and the threads
answered (`answers.thread_ts`). Only reads the old file; missing tables or columns
(a store created after the move) are skipped."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

log = logging.getLogger(__name__)

_COPIES = {
    # old table → (columns it needs, statement run with the old file attached as `old`)
    "seen": ({"key", "at"}, "INSERT OR IGNORE INTO seen SELECT key, at FROM old.seen"),
    "answers.shared_at": (
        {"id", "shared_at"},
        "INSERT OR IGNORE INTO shared SELECT id, shared_at FROM old.answers WHERE shared_at != ''",
    ),
    "answers.thread_ts": (
        {"channel", "thread_ts", "at"},
        "INSERT OR IGNORE INTO threads SELECT channel, thread_ts, MIN(at) FROM old.answers "
        "WHERE thread_ts != '' GROUP BY channel, thread_ts",
    ),
}


def import_legacy(db: sqlite3.Connection, legacy: Path) -> None:
    """Copy into `db` (a fresh SlackState file) what `legacy` knows; never fails."""
    try:
        db.execute("ATTACH DATABASE ? AS old", (str(legacy),))
    except sqlite3.Error as exc:
        log.warning("could not read %s for the old Slack state: %s", legacy, exc)
        return
    try:
        for name, (needs, statement) in _COPIES.items():
            table = name.partition(".")[0]
            columns = {r[1] for r in db.execute(f"PRAGMA old.table_info({table})")}
            if needs <= columns:
                copied = db.execute(statement).rowcount
                log.info("copied %d rows of %s from %s", copied, name, legacy.name)
        db.commit()
    finally:
        db.execute("DETACH DATABASE old")
