"""Writes that outlive a PostgreSQL outage: the answer is delivered anyway, and the
answer record or feedback that could not be written is kept and retried.

Kept writes go in order (feedback refers to its answer) and in memory: a background
thread retries them with a growing pause, logging each failure; `close()` tries once
more and logs every write still not stored at ERROR, so that nothing is dropped
without a trace. While any write waits, new writes queue behind it for the same order.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic

from state.errors import StateUnavailable
from state.feedback import (
    A,
    FeedbackRecord,
    FeedbackStore,
    StoredAnswer,
    Verdict,
    new_answer_id,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Write:
    what: str  # for the log: "answer 1a2b…" / "helpful feedback on 1a2b… by U1"
    run: Callable[[], object]


class RetryingFeedbackStore(Generic[A]):
    """Wraps a store whose writes may raise StateUnavailable (PostgreSQL)."""

    def __init__(self, inner: FeedbackStore[A], *, first_pause: float = 0.5,
                 max_pause: float = 30.0) -> None:  # fmt: skip
        self.inner = inner
        self.first_pause, self.max_pause = first_pause, max_pause
        self._pending: deque[_Write] = deque()
        self._answers: dict[str, StoredAnswer[A]] = {}  # kept answers, for the buttons
        self._cond = threading.Condition()
        self._closed = False
        self._thread: threading.Thread | None = None

    # -- FeedbackStore -----------------------------------------------------------------
    def add_answer(self, answer: A, *, user: str, channel: str, thread_ts: str = "",
                   answer_id: str = "") -> str:  # fmt: skip
        answer_id = answer_id or new_answer_id()
        write = _Write(f"answer {answer_id}", lambda: self.inner.add_answer(
            answer, user=user, channel=channel, thread_ts=thread_ts, answer_id=answer_id
        ))  # fmt: skip
        if not self._try(write):
            with self._cond:
                self._answers[answer_id] = StoredAnswer(answer_id, user, channel, thread_ts,
                                                        answer)  # fmt: skip
        return answer_id

    def answer(self, answer_id: str) -> StoredAnswer[A] | None:
        with self._cond:
            kept = self._answers.get(answer_id)
        return kept if kept is not None else self.inner.answer(answer_id)

    def add_feedback(
        self, answer_id: str, *, user: str, channel: str, verdict: Verdict, correction: str = ""
    ) -> int:
        """The feedback's id, or 0 when it was kept for a retry."""
        result: list[int] = []
        write = _Write(
            f"{verdict} feedback on answer {answer_id} by {user}",
            lambda: result.append(self.inner.add_feedback(
                answer_id, user=user, channel=channel, verdict=verdict, correction=correction)),
        )  # fmt: skip
        self._try(write)
        return result[0] if result else 0

    def records(self, verdict: Verdict | None = None) -> list[FeedbackRecord]:
        return self.inner.records(verdict)

    def pending(self) -> int:
        with self._cond:
            return len(self._pending)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._flush()
        with self._cond:
            for write in self._pending:
                log.error("state store still unreachable; NOT stored: %s", write.what)
        self.inner.close()

    # -- retrying ----------------------------------------------------------------------
    def _try(self, write: _Write) -> bool:
        """Run `write` now if nothing waits before it; else keep it. True if stored."""
        with self._cond:
            queued = bool(self._pending)
        if queued:  # behind earlier writes, to keep their order
            log.warning("state store writes waiting: %s kept, will retry", write.what)
        else:
            try:
                write.run()
                return True
            except StateUnavailable as exc:
                log.warning("state store unreachable (%s): %s kept, will retry", exc, write.what)
        with self._cond:
            self._pending.append(write)
            self._start()
            self._cond.notify_all()
        return False

    def _start(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._loop, name="state-retry", daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        pause = self.first_pause
        while True:
            with self._cond:
                if self._closed or not self._pending:
                    return
                self._cond.wait(timeout=pause)
                if self._closed:
                    return
            if self._flush():
                return
            pause = min(pause * 2, self.max_pause)

    def _flush(self) -> bool:
        """Write kept writes in order; stop at the first failure. True when none left."""
        while True:
            with self._cond:
                if not self._pending:
                    self._answers.clear()
                    return True
                write = self._pending[0]
            try:
                write.run()
            except StateUnavailable as exc:
                with self._cond:
                    left = len(self._pending)
                log.warning("state store still unreachable (%s): %d write(s) wait", exc, left)
                return False
            with self._cond:
                self._pending.popleft()
            log.info("stored after a retry: %s", write.what)
