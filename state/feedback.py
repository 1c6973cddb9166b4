"""Durable store of the bot's answers and the feedback on them.

`FeedbackStore` is the interface. `SQLiteFeedbackStore` (the default, embedded) and
`state.feedback_postgres.PostgresFeedbackStore` (when `state_url` is set, so that several
replicas share it) implement it; `open_feedback_store(home, state_url, decode)` picks one.

The stores keep an answer as its record (`to_record()`) and hand it back through the
`decode` they are given (the engine's `Answer.from_json`): the answer type is the
engine's, and this layer does not import it.

SQLite file: `<home>/feedback.sqlite`. Schema (the nightly retraining and the eval read it
with `open_feedback_store(…).records()`; nothing else should depend on the tables;
PostgreSQL has the same columns in `teamkb_answers` and `teamkb_feedback`):

    answers   one row per answer the bot posted
      id TEXT PRIMARY KEY      random id; the buttons carry it (Slack limits their value)
      at TEXT                  ISO 8601 UTC
      user, channel, thread_ts TEXT  who asked, where ('' thread_ts: a slash command)
      question, answer TEXT
      citations TEXT           JSON list of citation dicts (n, source, title, heading,
                               lines, url, collection, snippet, updated_at)
      model, adapter, collection TEXT
      payload TEXT             the whole Answer as JSON (flags, notice), to re-render it

    feedback  one row per verdict
      id INTEGER PRIMARY KEY
      at TEXT, answer_id TEXT → answers.id, user TEXT, channel TEXT
      verdict TEXT             'helpful' | 'not_helpful' | 'correction'
      correction TEXT          the suggested better answer ('' unless a correction)
      A user's later Helpful/Not helpful on the same answer replaces their earlier one.

Stores created before the Slack bot kept its own state (`state.slack`) also have an
`answers.shared_at` column and a `seen` table: no longer written here; the bot copies
them once into its `slack-state.sqlite`.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Generic, Literal, Protocol, TypeVar

from state.sqlite import transaction, use_wal

Verdict = Literal["helpful", "not_helpful", "correction"]
VERDICTS: tuple[str, ...] = ("helpful", "not_helpful", "correction")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS answers (
  id TEXT PRIMARY KEY, at TEXT NOT NULL, user TEXT NOT NULL, channel TEXT NOT NULL,
  thread_ts TEXT NOT NULL DEFAULT '', question TEXT NOT NULL, answer TEXT NOT NULL,
  citations TEXT NOT NULL, model TEXT NOT NULL, adapter TEXT NOT NULL,
  collection TEXT NOT NULL, payload TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS feedback (
  id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL,
  answer_id TEXT NOT NULL REFERENCES answers(id), user TEXT NOT NULL,
  channel TEXT NOT NULL, verdict TEXT NOT NULL, correction TEXT NOT NULL DEFAULT ''
);
"""


def feedback_path(home: Path) -> Path:
    """Where the SQLite store lives in a data folder (the bot writes, retraining reads)."""
    return Path(home) / "feedback.sqlite"


class KeptAnswer(Protocol):
    """What the stores read from an answer they keep."""

    @property
    def question(self) -> str: ...
    @property
    def text(self) -> str: ...
    @property
    def model(self) -> str: ...
    @property
    def adapter(self) -> str: ...
    @property
    def collection(self) -> str: ...
    def to_record(self) -> dict[str, Any]: ...


A = TypeVar("A", bound=KeptAnswer)
# An answer back from its record and its question (the engine's `Answer.from_json`).
Decode = Callable[[dict[str, Any], str], A]


@dataclass(frozen=True)
class FeedbackRecord:
    id: int
    at: str
    user: str
    channel: str
    question: str
    answer: str
    citations: list[dict[str, Any]]
    model: str
    adapter: str
    verdict: Verdict
    correction: str = ""


@dataclass(frozen=True)
class StoredAnswer(Generic[A]):
    id: str
    user: str
    channel: str
    thread_ts: str
    answer: A


class FeedbackStore(Protocol[A]):
    """Answers and the verdicts on them: the bot writes; retraining and the eval read."""

    def add_answer(self, answer: A, *, user: str, channel: str, thread_ts: str = "",
                   answer_id: str = "") -> str:  # fmt: skip
        """Store `answer`; returns its id (`answer_id`, or a new one)."""
        ...

    def answer(self, answer_id: str) -> StoredAnswer[A] | None: ...

    def add_feedback(
        self, answer_id: str, *, user: str, channel: str, verdict: Verdict, correction: str = ""
    ) -> int:
        """Store a verdict; a user's later helpful/not_helpful replaces their earlier one."""
        ...

    def records(self, verdict: Verdict | None = None) -> list[FeedbackRecord]:
        """Every verdict joined with its answer, oldest first."""
        ...

    def close(self) -> None: ...


def open_feedback_store(home: Path, state_url: str, decode: Decode[A]) -> FeedbackStore[A]:
    """PostgreSQL when `state_url` is set (several replicas), else the SQLite file in
    the data folder `home`.

    PostgreSQL writes that fail mid-run are kept and retried (`RetryingFeedbackStore`);
    an unreachable server at start is a ConfigError naming `state_url`."""
    if state_url:
        from state.feedback_postgres import PostgresFeedbackStore
        from state.feedback_retry import RetryingFeedbackStore

        return RetryingFeedbackStore(PostgresFeedbackStore(state_url, decode))
    return SQLiteFeedbackStore(feedback_path(home), decode)


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def new_answer_id() -> str:
    """Random and short: the buttons carry it, and Slack limits their value."""
    return secrets.token_hex(8)


def check_verdict(verdict: str) -> None:
    if verdict not in VERDICTS:
        raise ValueError(f"unknown verdict {verdict!r}")


def answer_row(answer: KeptAnswer, answer_id: str, user: str, channel: str,
               thread_ts: str) -> tuple[Any, ...]:  # fmt: skip
    """An answers row, in column order (id … payload); both stores write the same."""
    record = answer.to_record()
    return (answer_id, utc_now(), user, channel, thread_ts, answer.question, answer.text,
            json.dumps(record["citations"]), answer.model, answer.adapter,
            answer.collection, json.dumps(record))  # fmt: skip


def to_stored(row: Sequence[Any], decode: Decode[A]) -> StoredAnswer[A]:
    """From (id, user, channel, thread_ts, question, payload JSON)."""
    return StoredAnswer(
        id=row[0], user=row[1], channel=row[2], thread_ts=row[3],
        answer=decode(json.loads(row[5]), row[4]),
    )  # fmt: skip


def to_record(row: Sequence[Any]) -> FeedbackRecord:
    """From (feedback id, at, user, channel, question, answer, citations JSON, model,
    adapter, verdict, correction): both stores run the same join."""
    return FeedbackRecord(
        id=int(row[0]), at=row[1], user=row[2], channel=row[3], question=row[4],
        answer=row[5], citations=json.loads(row[6]), model=row[7], adapter=row[8],
        verdict=row[9], correction=row[10],
    )  # fmt: skip


class SQLiteFeedbackStore(Generic[A]):
    """The embedded default: one file in the data folder."""

    def __init__(self, path: Path, decode: Decode[A]) -> None:
        self.path = Path(path)
        self._decode = decode
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # One connection per call keeps threads apart; the lock serialises writers in
        # this process so that SQLite never answers "database is locked".
        self._lock = threading.Lock()
        with self._connect() as db:
            use_wal(db)
            db.executescript(_SCHEMA)

    def _connect(self) -> AbstractContextManager[sqlite3.Connection]:
        return transaction(self.path)

    # -- answers -------------------------------------------------------------------
    def add_answer(self, answer: A, *, user: str, channel: str, thread_ts: str = "",
                   answer_id: str = "") -> str:  # fmt: skip
        answer_id = answer_id or new_answer_id()
        with self._lock, self._connect() as db:
            db.execute(
                # Named columns: older stores have a `shared_at` column (default '').
                "INSERT INTO answers (id, at, user, channel, thread_ts, question, answer, "
                "citations, model, adapter, collection, payload) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                answer_row(answer, answer_id, user, channel, thread_ts),
            )
        return answer_id

    def answer(self, answer_id: str) -> StoredAnswer[A] | None:
        with self._connect() as db:
            row = db.execute(
                "SELECT id, user, channel, thread_ts, question, payload FROM answers WHERE id = ?",
                (answer_id,),
            ).fetchone()
        return to_stored(row, self._decode) if row is not None else None

    # -- feedback ------------------------------------------------------------------
    def add_feedback(
        self, answer_id: str, *, user: str, channel: str, verdict: Verdict, correction: str = ""
    ) -> int:
        check_verdict(verdict)
        with self._lock, self._connect() as db:
            if verdict != "correction":
                db.execute(
                    "DELETE FROM feedback WHERE answer_id = ? AND user = ? "
                    "AND verdict IN ('helpful', 'not_helpful')",
                    (answer_id, user),
                )
            cur = db.execute(
                "INSERT INTO feedback (at, answer_id, user, channel, verdict, correction) "
                "VALUES (?,?,?,?,?,?)",
                (utc_now(), answer_id, user, channel, verdict, correction),
            )
            return int(cur.lastrowid or 0)

    def records(self, verdict: Verdict | None = None) -> list[FeedbackRecord]:
        sql = (
            "SELECT f.id, f.at, f.user, f.channel, a.question, a.answer, a.citations, "
            "a.model, a.adapter, f.verdict, f.correction "
            "FROM feedback f JOIN answers a ON a.id = f.answer_id"
        )
        args: tuple[str, ...] = ()
        if verdict is not None:
            sql += " WHERE f.verdict = ?"
            args = (verdict,)
        with self._connect() as db:
            rows = db.execute(sql + " ORDER BY f.id", args).fetchall()
        return [to_record(r) for r in rows]

    def close(self) -> None:
        """Nothing is held open: each call has its own connection."""
