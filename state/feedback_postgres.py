"""`FeedbackStore` on PostgreSQL (`state_url`): the answers and feedback of every
replica in one place, read by retraining and the eval like the SQLite store."""

from __future__ import annotations

from typing import Generic

from state.feedback import (
    A,
    Decode,
    FeedbackRecord,
    StoredAnswer,
    Verdict,
    answer_row,
    check_verdict,
    new_answer_id,
    to_record,
    to_stored,
    utc_now,
)
from state.postgres import Postgres

# "user" is a reserved word in PostgreSQL, hence the quotes.
SCHEMA = """
CREATE TABLE IF NOT EXISTS teamkb_answers (
  id TEXT PRIMARY KEY, at TEXT NOT NULL, "user" TEXT NOT NULL, channel TEXT NOT NULL,
  thread_ts TEXT NOT NULL DEFAULT '', question TEXT NOT NULL, answer TEXT NOT NULL,
  citations TEXT NOT NULL, model TEXT NOT NULL, adapter TEXT NOT NULL,
  collection TEXT NOT NULL, payload TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS teamkb_feedback (
  id BIGSERIAL PRIMARY KEY, at TEXT NOT NULL,
  answer_id TEXT NOT NULL REFERENCES teamkb_answers(id), "user" TEXT NOT NULL,
  channel TEXT NOT NULL, verdict TEXT NOT NULL, correction TEXT NOT NULL DEFAULT ''
);
"""


class PostgresFeedbackStore(Generic[A]):
    def __init__(self, url: str, decode: Decode[A]) -> None:
        self.db = Postgres(url, schema=SCHEMA)
        self._decode = decode

    def add_answer(self, answer: A, *, user: str, channel: str, thread_ts: str = "",
                   answer_id: str = "") -> str:  # fmt: skip
        answer_id = answer_id or new_answer_id()
        with self.db.transaction() as cur:
            # ON CONFLICT: a retried write (see RetryingFeedbackStore) may have landed.
            cur.execute(
                'INSERT INTO teamkb_answers (id, at, "user", channel, thread_ts, question, '
                "answer, citations, model, adapter, collection, payload) "
                "VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s) ON CONFLICT (id) DO NOTHING",
                answer_row(answer, answer_id, user, channel, thread_ts),
            )
        return answer_id

    def answer(self, answer_id: str) -> StoredAnswer[A] | None:
        with self.db.transaction() as cur:
            cur.execute(
                'SELECT id, "user", channel, thread_ts, question, payload FROM teamkb_answers '
                "WHERE id = %s",
                (answer_id,),
            )
            row = cur.fetchone()
        return to_stored(row, self._decode) if row is not None else None

    def add_feedback(
        self, answer_id: str, *, user: str, channel: str, verdict: Verdict, correction: str = ""
    ) -> int:
        check_verdict(verdict)
        with self.db.transaction() as cur:
            if verdict != "correction":
                cur.execute(
                    'DELETE FROM teamkb_feedback WHERE answer_id = %s AND "user" = %s '
                    "AND verdict IN ('helpful', 'not_helpful')",
                    (answer_id, user),
                )
            cur.execute(
                'INSERT INTO teamkb_feedback (at, answer_id, "user", channel, verdict, '
                "correction) VALUES (%s,%s,%s,%s,%s,%s) RETURNING id",
                (utc_now(), answer_id, user, channel, verdict, correction),
            )
            row = cur.fetchone()
        return int(row[0]) if row else 0

    def records(self, verdict: Verdict | None = None) -> list[FeedbackRecord]:
        sql = (
            'SELECT f.id, f.at, f."user", f.channel, a.question, a.answer, a.citations, '
            "a.model, a.adapter, f.verdict, f.correction "
            "FROM teamkb_feedback f JOIN teamkb_answers a ON a.id = f.answer_id"
        )
        args: tuple[str, ...] = ()
        if verdict is not None:
            sql += " WHERE f.verdict = %s"
            args = (verdict,)
        with self.db.transaction() as cur:
            cur.execute(sql + " ORDER BY f.id", args)
            rows = cur.fetchall()
        return [to_record(r) for r in rows]

    def close(self) -> None:
        self.db.close()
