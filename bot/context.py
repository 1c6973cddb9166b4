"""What the listeners share: the engine, the bounded answer pool, the feedback store,
the bot's own Slack state, the rate limiter and channel → collections. Nothing here
touches Bolt."""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

from bot.settings import SlackSettings
from engine import USER_ERRORS, Answer, Engine, IndexNotFound, Turn
from state import (
    FeedbackStore,
    SlackState,
    SQLiteFeedbackStore,
    SQLiteSlackState,
    feedback_path,
    slack_state_path,
)

log = logging.getLogger(__name__)

GENERIC_ERROR = (
    ":confused: Sorry, something went wrong while answering. Please try again in a "
    "moment; if it keeps happening, tell whoever runs teamkb (the details are in its logs)."
)
_MENTION = re.compile(r"<@[A-Z0-9]+(?:\|[^>]*)?>")


def strip_mentions(text: str) -> str:
    return " ".join(_MENTION.sub(" ", text or "").split())


def friendly(exc: BaseException) -> str:
    """The message a user sees for an error; details of unexpected ones go to the log."""
    if isinstance(exc, USER_ERRORS):
        return f":warning: {exc}"
    return GENERIC_ERROR


class RateLimiter:
    """A sliding window per user: at most `per_minute` questions in any 60 s."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self.clock = clock
        self._seen: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, user: str) -> float:
        """0 if `user` may ask now (and counts it), else seconds until they may."""
        now = self.clock()
        with self._lock:
            q = self._seen.setdefault(user, deque())
            while q and now - q[0] >= 60:
                q.popleft()
            if len(q) >= self.per_minute:
                return max(0.1, 60 - (now - q[0]))
            q.append(now)
            return 0.0


class BotContext:
    def __init__(
        self,
        engine: Engine,
        settings: SlackSettings,
        store: FeedbackStore[Answer] | None = None,
        state: SlackState | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        home = Path(settings.home)
        # Shared by replicas when `state_url` is set (see bot.main); SQLite files in
        # `home` otherwise.
        self.store = store or SQLiteFeedbackStore(feedback_path(home), Answer.from_json)
        self.state = state or SQLiteSlackState(slack_state_path(home), legacy=feedback_path(home))
        self.limiter = RateLimiter(settings.rate_limit_per_minute)
        # Bounded: the model is the scarce resource; extra questions wait in the queue
        # (never dropped) while acknowledgements stay instant.
        self.pool = ThreadPoolExecutor(max_workers=settings.workers, thread_name_prefix="kb-answer")
        self._pending: set[Future[Any]] = set()
        self._lock = threading.Lock()

    # -- background work ---------------------------------------------------------------
    def submit(self, job: Callable[[], None], on_error: Callable[[str], None]) -> Future[Any]:
        """Run `job` in the answer pool; any exception becomes a friendly message."""

        def run() -> None:
            try:
                job()
            except USER_ERRORS as exc:
                log.info("user error: %s", exc)
                self._report(on_error, friendly(exc))
            except Exception:
                log.exception("answering failed")
                self._report(on_error, GENERIC_ERROR)

        return self.track(self.pool.submit(run))

    def track(self, fut: Future[Any]) -> Future[Any]:
        """Count `fut` as work in progress until it is done (see `idle`)."""
        with self._lock:
            self._pending.add(fut)
        fut.add_done_callback(self._done)
        return fut

    def _done(self, fut: Future[Any]) -> None:
        with self._lock:
            self._pending.discard(fut)

    @staticmethod
    def _report(on_error: Callable[[str], None], message: str) -> None:
        try:
            on_error(message)
        except Exception:
            log.exception("could not tell the user about an error")

    def idle(self, timeout: float = 30.0) -> bool:
        """Wait until no listener runs and no answer is being made (tests, shutdown)."""
        deadline = time.monotonic() + timeout
        while True:
            # Again after each wait: a finished job may have queued another.
            with self._lock:
                pending = [f for f in self._pending if not f.done()]
            if not pending:
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            wait(pending, timeout=remaining)

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=False)
        # After the answers: their records and feedback may still be waiting for a retry.
        self.store.close()
        self.state.close()

    # -- answers -----------------------------------------------------------------------
    def collections(self, channel: str) -> tuple[str, ...]:
        return self.settings.channel(channel).collections

    def answer(self, question: str, channel: str, history: Sequence[Turn] = ()) -> Answer:
        """Ask the engine, searching only the collections `channel` may see."""
        allowed = self.collections(channel)
        collection = allowed[0]
        if len(allowed) > 1:
            collection = self._best_collection(question, allowed)
        return self.engine.ask(question, collection=collection, history=list(history) or None)

    def _best_collection(self, question: str, allowed: Sequence[str]) -> str:
        # Generation is the slow part, so pick the collection by its best passage and
        # generate once, rather than answering from each and comparing.
        best, best_sim = allowed[0], -1.0
        for name in allowed:
            try:
                hits = self.engine.search(question, collection=name, k=1)
            except IndexNotFound:
                log.warning("collection %s has no index yet", name)
                continue
            if hits and hits[0].similarity > best_sim:
                best, best_sim = name, hits[0].similarity
        return best
