"""`/kb QUESTION`: an instant ephemeral "searching…", then the answer via response_url."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, Respond

from bot.blocks import HELP_TEXT, answer_blocks, fallback_text, message_blocks, searching_blocks
from bot.context import BotContext

log = logging.getLogger(__name__)

COMMAND = "/kb"


def register(app: App, ctx: BotContext) -> None:
    @app.command(COMMAND)
    def kb(ack: Ack, command: dict[str, Any], respond: Respond) -> None:
        question = (command.get("text") or "").strip()
        if question.lower() in {"", "help", "?", "-h", "--help"}:
            ack(response_type="ephemeral", text=HELP_TEXT, blocks=message_blocks(HELP_TEXT))
            return
        user, channel = command.get("user_id", ""), command.get("channel_id", "")
        wait = ctx.limiter.allow(user)
        if wait:
            ack(response_type="ephemeral", text=too_fast(wait))
            return
        ack(
            response_type="ephemeral", text="Searching the docs…", blocks=searching_blocks(question)
        )

        def job() -> None:
            answer = ctx.answer(question, channel)
            answer_id = ctx.store.add_answer(answer, user=user, channel=channel)
            respond(
                response_type="ephemeral",
                replace_original=True,
                text=fallback_text(answer),
                blocks=answer_blocks(answer, answer_id=answer_id, shareable=True),
            )

        def on_error(message: str) -> None:
            respond(response_type="ephemeral", replace_original=True, text=message)

        ctx.submit(job, on_error)


def too_fast(wait: float) -> str:
    return (
        f":hourglass: You're asking faster than I can answer. Try again in {max(1, round(wait))} s."
    )
