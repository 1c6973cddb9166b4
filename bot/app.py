"""The Bolt app factory: one App, served over HTTP (`bot.http_server`) or Socket Mode.

The caller builds the BotContext (and so owns it: `ctx.idle()`, `ctx.close()`);
`create_app` hands it to every listener through Bolt's `context` (`bot.injection`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from bot.context import BotContext
from bot.injection import provide
from bot.listeners import register_listeners
from bot.redact import install_redaction

log = logging.getLogger(__name__)


class ListenerExecutor(ThreadPoolExecutor):
    """Bolt's listener threads. A listener goes on running after its ack(); counting it
    in the BotContext lets `ctx.idle()` wait for it too, not only for queued answers."""

    def __init__(self, ctx: BotContext, max_workers: int) -> None:
        super().__init__(max_workers=max_workers, thread_name_prefix="bolt")
        self.ctx = ctx

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        fut = super().submit(fn, *args, **kwargs)
        self.ctx.track(fut)
        return fut


def slack_client(ctx: BotContext) -> WebClient:
    settings = ctx.settings
    return WebClient(
        token=settings.bot_token or None, base_url=settings.api_url or WebClient.BASE_URL
    )


def create_app(ctx: BotContext, client: WebClient | None = None) -> App:
    client = client or slack_client(ctx)
    # Slack answers a burst with 429 + Retry-After: wait that long and retry once
    # rather than lose the answer.
    if not any(isinstance(h, RateLimitErrorRetryHandler) for h in client.retry_handlers):
        client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=1))
    app = App(
        client=client,
        signing_secret=ctx.settings.signing_secret,
        # Listeners ack at once and hand slow work to ctx.pool; Bolt answers Slack as
        # soon as ack() is called.
        process_before_response=False,
        # Listeners only ack and enqueue, so a wide pool keeps a burst of commands from
        # waiting behind each other (Bolt's default is 5 threads).
        listener_executor=ListenerExecutor(ctx, max_workers=32),
        logger=logging.getLogger("bot.bolt"),
    )
    app.use(provide(ctx))
    register_listeners(app)
    # After App(): Bolt has made its loggers, and they get the filter too.
    install_redaction()
    return app
