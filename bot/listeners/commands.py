"""`/kb QUESTION`: an instant ephemeral "searching…", then the answer via response_url."""

from __future__ import annotations

import hashlib
import logging
from functools import partial
from typing import Any

from slack_bolt import Ack, App, BoltContext, BoltRequest, Respond

from bot.blocks import HELP_TEXT, answer_blocks, fallback_text, message_blocks, searching_blocks
from bot.context import BotContext
from bot.injection import bot_context

log = logging.getLogger(__name__)

COMMAND = "/kb"
HELP_WORDS = {"", "help", "?", "-h", "--help"}


def register(app: App) -> None:
    app.command(COMMAND)(kb_command)


def kb_command(
    ack: Ack, command: dict[str, Any], respond: Respond, context: BoltContext, request: BoltRequest
) -> None:
    question = (command.get("text") or "").strip()
    if question.lower() in HELP_WORDS:
        ack(response_type="ephemeral", text=HELP_TEXT, blocks=message_blocks(HELP_TEXT))
        return
    ctx = bot_context(context)
    user, channel = command.get("user_id", ""), command.get("channel_id", "")
    wait = ctx.limiter.allow(user)
    if wait:
        ack(response_type="ephemeral", text=too_fast(wait))
        return
    ack(response_type="ephemeral", text="Searching the docs…", blocks=searching_blocks(question))
    # After the ack: the claim is a disk write (tens of ms) that a burst would queue
    # behind. A replay's ack goes back to whoever replayed it; Slack never resends one.
    if not ctx.state.claim(replay_key(request.raw_body)):
        log.warning("ignored a replayed /kb (same signed body as an earlier one)")
        return
    ctx.submit(
        partial(answer_privately, ctx, respond, question, user=user, channel=channel),
        partial(replace_with_message, respond),
    )


def replay_key(raw_body: str) -> str:
    """Slack never resends a slash command, and each carries its own trigger_id, so the
    same body twice is a replay. The signature is only valid for 5 minutes; the claim
    outlives that (SlackState prunes claims after days)."""
    return "cmd:" + hashlib.sha256(raw_body.encode("utf-8")).hexdigest()


def answer_privately(
    ctx: BotContext, respond: Respond, question: str, *, user: str, channel: str
) -> None:
    """In the pool: the answer replaces the "searching…" message, Share button included."""
    answer = ctx.answer(question, channel)
    answer_id = ctx.store.add_answer(answer, user=user, channel=channel)
    respond(
        response_type="ephemeral",
        replace_original=True,
        text=fallback_text(answer),
        blocks=answer_blocks(answer, answer_id=answer_id, shareable=True),
    )


def replace_with_message(respond: Respond, message: str) -> None:
    respond(response_type="ephemeral", replace_original=True, text=message)


def too_fast(wait: float) -> str:
    return (
        f":hourglass: You're asking faster than I can answer. Try again in {max(1, round(wait))} s."
    )
