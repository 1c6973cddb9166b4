"""Buttons on an answer (Share in channel, Helpful, Not helpful, Suggest a better
answer) and the suggestion modal. All acknowledge first."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.blocks import (
    HELPFUL,
    NOT_HELPFUL,
    SHARE,
    SUGGEST,
    SUGGEST_VIEW,
    answer_blocks,
    fallback_text,
    suggest_view,
)
from bot.context import GENERIC_ERROR
from bot.injection import bot_context
from state import Verdict

log = logging.getLogger(__name__)

EXPIRED = "That answer is no longer available: ask again with `/kb`."
THANKS = {
    "helpful": ":thumbsup: Thanks! Glad it helped.",
    "not_helpful": ":memo: Thanks: noted. *Suggest a better answer* helps even more.",
    "correction": ":pray: Thanks for the better answer: it goes into the next training run.",
}


def _value(body: dict[str, Any]) -> str:
    actions = body.get("actions") or [{}]
    return str(actions[0].get("value") or "")


def _channel(body: dict[str, Any]) -> str:
    return (body.get("channel") or {}).get("id") or (body.get("container") or {}).get(
        "channel_id", ""
    )


def register(app: App) -> None:
    app.action(SHARE)(share_answer)
    app.action(HELPFUL)(vote_helpful)
    app.action(NOT_HELPFUL)(vote_not_helpful)
    app.action(SUGGEST)(open_suggestion)
    app.view(SUGGEST_VIEW)(save_suggestion)


def _tell(respond: Respond, text: str) -> None:
    respond(response_type="ephemeral", replace_original=False, text=text)


def share_answer(
    ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond, context: BoltContext
) -> None:
    ack()
    ctx = bot_context(context)
    user = body["user"]["id"]
    stored = ctx.store.answer(_value(body))
    # The button only ever appears to the asker, in the channel they asked in;
    # checking both keeps a forged click from moving an answer elsewhere.
    if stored is None or stored.user != user or stored.channel != _channel(body):
        _tell(respond, EXPIRED)
        return
    if not ctx.state.mark_shared(stored.id):
        _tell(respond, "Already shared.")
        return
    try:
        client.chat_postMessage(
            channel=stored.channel,
            text=fallback_text(stored.answer),
            blocks=answer_blocks(stored.answer, answer_id=stored.id, asked_by=user),
            unfurl_links=False,
            unfurl_media=False,
        )
    except SlackApiError as exc:
        ctx.state.unmark_shared(stored.id)  # not posted: the user may try again
        log.warning("share failed: %s", exc.response.get("error"))
        _tell(respond, share_failed(exc))
        return
    respond(delete_original=True)


def share_failed(exc: SlackApiError) -> str:
    if exc.response.get("error") in {"not_in_channel", "channel_not_found"}:
        return "I can't post in this channel: add me with `/invite @teamkb`, then share."
    return GENERIC_ERROR


def vote_helpful(ack: Ack, body: dict[str, Any], respond: Respond, context: BoltContext) -> None:
    _vote("helpful", ack, body, respond, context)


def vote_not_helpful(
    ack: Ack, body: dict[str, Any], respond: Respond, context: BoltContext
) -> None:
    _vote("not_helpful", ack, body, respond, context)


def _vote(
    verdict: Verdict, ack: Ack, body: dict[str, Any], respond: Respond, context: BoltContext
) -> None:
    ack()
    ctx = bot_context(context)
    stored = ctx.store.answer(_value(body))
    if stored is None:
        _tell(respond, EXPIRED)
        return
    ctx.store.add_feedback(
        stored.id, user=body["user"]["id"], channel=stored.channel, verdict=verdict
    )
    _tell(respond, THANKS[verdict])


def open_suggestion(
    ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond, context: BoltContext
) -> None:
    ack()
    stored = bot_context(context).store.answer(_value(body))
    if stored is None:
        _tell(respond, EXPIRED)
        return
    # trigger_id is valid for 3 s only, so the modal opens here, not in the pool.
    client.views_open(
        trigger_id=body["trigger_id"], view=suggest_view(stored.id, stored.answer.question)
    )


def save_suggestion(
    ack: Ack, body: dict[str, Any], view: dict[str, Any], context: BoltContext
) -> None:
    values = view.get("state", {}).get("values", {})
    text = ((values.get("correction") or {}).get("text") or {}).get("value") or ""
    if not text.strip():
        ack(response_action="errors", errors={"correction": "Write the better answer."})
        return
    ctx = bot_context(context)
    stored = ctx.store.answer(view.get("private_metadata") or "")
    if stored is None:
        ack(response_action="errors", errors={"correction": EXPIRED})
        return
    # Stored before the ack (a few ms) so that a closed modal means a saved answer.
    ctx.store.add_feedback(
        stored.id, user=body["user"]["id"], channel=stored.channel,
        verdict="correction", correction=text.strip(),
    )  # fmt: skip
    ack()
