"""Hands the BotContext to every listener through Bolt's per-request `context`.

`create_app` installs `provide(ctx)` as a global middleware; a listener takes a
`context: BoltContext` argument and calls `bot_context(context)`. Listeners stay plain
module functions, with no closure over the app they are registered on.
"""

from __future__ import annotations

from collections.abc import Callable

from slack_bolt import BoltContext, BoltResponse

from bot.context import BotContext

KEY = "kb"

Middleware = Callable[[BoltContext, Callable[[], BoltResponse]], BoltResponse]


def provide(ctx: BotContext) -> Middleware:
    def inject_bot_context(context: BoltContext, next_: Callable[[], BoltResponse]) -> BoltResponse:
        context[KEY] = ctx
        return next_()

    return inject_bot_context


def bot_context(context: BoltContext) -> BotContext:
    ctx: BotContext = context[KEY]
    return ctx
