"""Load the engine's slow parts before the first question, not during it.

The embedding model (≈3 s), each collection's index and, for the embedded backend, the
llama.cpp model all load lazily on first use; a Slack server that waited for its first
question to load them made that user wait. `start_warmup` loads them in a background
thread at start and marks the server ready (/health 200) once they are in memory, so an
orchestrator only routes to a warm replica. A question that comes earlier still works:
it waits on the same loads (each is behind its part's own lock).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from bot.context import BotContext
from engine import IndexNotFound

log = logging.getLogger(__name__)

WARM_QUERY = "warm-up"


def collections_served(ctx: BotContext) -> list[str]:
    names = list(ctx.settings.default_collections)
    for channel in ctx.settings.channels.values():
        names += channel.collections
    return list(dict.fromkeys(names))


def warm_up(ctx: BotContext) -> float:
    """Load the embedder, every collection the bot may search, and the generator.
    Returns the seconds it took."""
    t0 = time.perf_counter()
    for name in collections_served(ctx):
        try:
            ctx.engine.search(WARM_QUERY, collection=name, k=1)
        except IndexNotFound:
            log.warning("collection %s has no index yet: run `teamkb index`", name)
    generator = getattr(ctx.engine, "generator", None)
    if generator is not None:
        generator.count_tokens(WARM_QUERY)  # llama.cpp loads its model here; Ollama: no-op
    return time.perf_counter() - t0


def start_warmup(ctx: BotContext, on_ready: Callable[[], None]) -> threading.Thread:
    """Warm up in a daemon thread, then call `on_ready` (even if a part failed to load:
    the answers then say what is missing, which beats a replica that is never ready)."""

    def run() -> None:
        try:
            took = warm_up(ctx)
        except Exception:
            log.exception("warm-up failed; answers will load what they need")
            on_ready()
            return
        on_ready()  # before the log line, so that a reader of the log sees /health 200
        log.info("ready: engine, index and model loaded in %.1f s", took)

    thread = threading.Thread(target=run, name="kb-warmup", daemon=True)
    thread.start()
    return thread
