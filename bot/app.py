"""The Bolt app factory: one App, served over HTTP (`bot.server`) or Socket Mode."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from bot.context import BotContext
from bot.listeners import actions, commands, events
from bot.settings import SlackSettings
from engine import Engine
from engine.feedback import FeedbackStore

log = logging.getLogger(__name__)

_CONTEXT_KEY = "teamkb_context"


def create_app(
    engine: Engine,
    settings: SlackSettings,
    client: WebClient | None = None,
    *,
    store: FeedbackStore | None = None,
) -> App:
    if client is None:
        client = WebClient(
            token=settings.bot_token or None,
            base_url=settings.api_url or WebClient.BASE_URL,
        )
    # Slack answers a burst with 429 + Retry-After: wait that long and retry once
    # rather than lose the answer.
    if not any(isinstance(h, RateLimitErrorRetryHandler) for h in client.retry_handlers):
        client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=1))
    ctx = BotContext(engine, settings, store)
    app = App(
        client=client,
        signing_secret=settings.signing_secret,
        # Listeners ack at once and hand slow work to ctx.pool; Bolt answers Slack as
        # soon as ack() is called.
        process_before_response=False,
        # Listeners only ack and enqueue, so a wide pool keeps a burst of commands from
        # waiting behind each other (Bolt's default is 5 threads).
        listener_executor=ThreadPoolExecutor(max_workers=32, thread_name_prefix="bolt"),
        logger=logging.getLogger("bot.bolt"),
    )
    commands.register(app, ctx)
    events.register(app, ctx)
    actions.register(app, ctx)
    setattr(app, _CONTEXT_KEY, ctx)
    return app


def context_of(app: App) -> BotContext:
    """The BotContext that `create_app` attached (tests, shutdown)."""
    ctx: BotContext = getattr(app, _CONTEXT_KEY)
    return ctx
