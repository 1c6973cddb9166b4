"""Buttons on an answer (Share in channel, Helpful, Not helpful, Suggest a better
answer) and the suggestion modal. All acknowledge first."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, Respond
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
from bot.context import GENERIC_ERROR, BotContext
from engine.feedback import Verdict

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


def register(app: App, ctx: BotContext) -> None:
    @app.action(SHARE)
    def share(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond) -> None:
        ack()
        user = body["user"]["id"]
        stored = ctx.store.answer(_value(body))
        # The button only ever appears to the asker, in the channel they asked in;
        # checking both keeps a forged click from moving an answer elsewhere.
        if stored is None or stored.user != user or stored.channel != _channel(body):
            respond(response_type="ephemeral", replace_original=False, text=EXPIRED)
            return
        if not ctx.state.mark_shared(stored.id):
            respond(response_type="ephemeral", replace_original=False, text="Already shared.")
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
            text = GENERIC_ERROR
            if exc.response.get("error") in {"not_in_channel", "channel_not_found"}:
                text = "I can't post in this channel: add me with `/invite @teamkb`, then share."
            respond(response_type="ephemeral", replace_original=False, text=text)
            return
        respond(delete_original=True)

    def vote(verdict: Verdict) -> Callable[..., None]:
        def on_vote(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
            ack()
            stored = ctx.store.answer(_value(body))
            if stored is None:
                respond(response_type="ephemeral", replace_original=False, text=EXPIRED)
                return
            ctx.store.add_feedback(
                stored.id, user=body["user"]["id"], channel=stored.channel, verdict=verdict
            )
            respond(response_type="ephemeral", replace_original=False, text=THANKS[verdict])

        return on_vote

    app.action(HELPFUL)(vote("helpful"))
    app.action(NOT_HELPFUL)(vote("not_helpful"))

    @app.action(SUGGEST)
    def suggest(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond) -> None:
        ack()
        stored = ctx.store.answer(_value(body))
        if stored is None:
            respond(response_type="ephemeral", replace_original=False, text=EXPIRED)
            return
        # trigger_id is valid for 3 s only, so the modal opens here, not in the pool.
        client.views_open(
            trigger_id=body["trigger_id"], view=suggest_view(stored.id, stored.answer.question)
        )

    @app.view(SUGGEST_VIEW)
    def suggested(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        values = view.get("state", {}).get("values", {})
        text = ((values.get("correction") or {}).get("text") or {}).get("value") or ""
        if not text.strip():
            ack(response_action="errors", errors={"correction": "Write the better answer."})
            return
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
