"""`SlackState` on PostgreSQL (`state_url`), shared by every replica of the bot.

Slack delivers an event's retries to whichever replica its load balancer picks, so the
claim must be one row in one database: `INSERT … ON CONFLICT DO NOTHING` lets exactly
one replica win. If PostgreSQL goes away mid-run the bot keeps answering: a claim that
cannot be checked counts as won (an answer, maybe twice, rather than none) and is logged.
"""

from __future__ import annotations

import logging
import secrets
from datetime import UTC, datetime, timedelta

from state.errors import StateUnavailable
from state.feedback import utc_now
from state.postgres import Postgres
from state.slack import schema

log = logging.getLogger(__name__)


class PostgresSlackState:
    def __init__(self, url: str) -> None:
        self.db = Postgres(url, schema=schema("teamkb_slack_"))

    def claim(self, key: str, *, keep_days: int = 2) -> bool:
        try:
            with self.db.transaction() as cur:
                cur.execute(
                    "INSERT INTO teamkb_slack_seen VALUES (%s, %s) ON CONFLICT DO NOTHING",
                    (key, utc_now()),
                )
                won = cur.rowcount == 1
                if won and secrets.randbelow(200) == 0:  # prune now and then
                    cutoff = (datetime.now(UTC) - timedelta(days=keep_days)).isoformat()
                    cur.execute("DELETE FROM teamkb_slack_seen WHERE at < %s", (cutoff,))
                return won
        except StateUnavailable as exc:
            log.warning("state store unreachable (%s): answering %s unchecked", exc, key)
            return True

    def mark_shared(self, answer_id: str) -> bool:
        with self.db.transaction() as cur:
            cur.execute(
                "INSERT INTO teamkb_slack_shared VALUES (%s, %s) ON CONFLICT DO NOTHING",
                (answer_id, utc_now()),
            )
            return bool(cur.rowcount == 1)

    def unmark_shared(self, answer_id: str) -> None:
        with self.db.transaction() as cur:
            cur.execute("DELETE FROM teamkb_slack_shared WHERE answer_id = %s", (answer_id,))

    def shared_at(self, answer_id: str) -> str:
        with self.db.transaction() as cur:
            cur.execute("SELECT at FROM teamkb_slack_shared WHERE answer_id = %s", (answer_id,))
            row = cur.fetchone()
        return str(row[0]) if row else ""

    def add_thread(self, channel: str, thread_ts: str) -> None:
        try:
            with self.db.transaction() as cur:
                cur.execute(
                    "INSERT INTO teamkb_slack_threads VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
                    (channel, thread_ts, utc_now()),
                )
        except StateUnavailable as exc:  # only follow-ups without a mention are lost
            log.warning("state store unreachable (%s): thread %s not remembered", exc, thread_ts)

    def answered_thread(self, channel: str, thread_ts: str) -> bool:
        try:
            with self.db.transaction() as cur:
                cur.execute(
                    "SELECT 1 FROM teamkb_slack_threads WHERE channel = %s AND thread_ts = %s",
                    (channel, thread_ts),
                )
                return cur.fetchone() is not None
        except StateUnavailable as exc:  # a follow-up without a mention goes unanswered
            log.warning("state store unreachable (%s): thread %s not checked", exc, thread_ts)
            return False

    def close(self) -> None:
        self.db.close()
