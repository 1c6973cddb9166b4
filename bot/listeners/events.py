"""`@teamkb QUESTION` in a channel, any message in a DM, and follow-ups in a thread the
bot answered: the answer goes in the thread, with the thread so far as history."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import partial
from typing import Any

from slack_bolt import App, BoltContext
from slack_sdk import WebClient

from bot.blocks import answer_blocks, fallback_text
from bot.context import BotContext, strip_mentions
from bot.injection import bot_context
from bot.listeners.commands import too_fast
from engine import Turn

log = logging.getLogger(__name__)


def register(app: App) -> None:
    app.event("app_mention")(on_mention)
    app.event("message")(on_message)


def on_mention(event: dict[str, Any], context: BoltContext, client: WebClient) -> None:
    handle(bot_context(context), event, context, client)


def on_message(event: dict[str, Any], context: BoltContext, client: WebClient) -> None:
    # Edits, joins and other subtypes are not questions (bots: see `handle`).
    if event.get("subtype"):
        return
    ctx = bot_context(context)
    text = event.get("text") or ""
    bot_user = context.bot_user_id or ""
    channel = event.get("channel", "")
    if event.get("channel_type") == "im":
        handle(ctx, event, context, client)
    elif bot_user and f"<@{bot_user}" in text:
        return  # the app_mention event for the same message answers it
    elif event.get("thread_ts") and ctx.state.answered_thread(channel, event["thread_ts"]):
        handle(ctx, event, context, client)  # a follow-up in our thread
    elif ctx.settings.channel(channel).answer_without_mention and not event.get("thread_ts"):
        handle(ctx, event, context, client)  # top-level only: others' threads are theirs


def handle(ctx: BotContext, event: dict[str, Any], context: BoltContext, client: WebClient) -> None:
    # Bots (ours included) are never answered, whether they mention us or not: two bots
    # could otherwise answer each other forever.
    if event.get("bot_id") or event.get("subtype") == "bot_message":
        return
    channel, ts, user = event.get("channel", ""), event.get("ts", ""), event.get("user", "")
    if not (channel and ts and user):
        return
    # One answer per message: Slack retries (X-Slack-Retry-Num) and the message +
    # app_mention pair for a mention carry the same channel and ts.
    if not ctx.state.claim(f"msg:{channel}:{ts}"):
        log.info("already handled message %s in %s", ts, channel)
        return
    thread_ts = event.get("thread_ts") or ts
    tell = partial(tell_privately, client, channel=channel, user=user, thread_ts=thread_ts)
    question = strip_mentions(event.get("text") or "")
    if not question:
        tell("Ask me a question about the docs, e.g. `@teamkb how do I roll back a deploy?`")
        return
    wait = ctx.limiter.allow(user)
    if wait:
        tell(too_fast(wait))
        return
    asked = Question(
        text=question, channel=channel, user=user, ts=ts, thread_ts=thread_ts,
        follow_up=bool(event.get("thread_ts")) and event["thread_ts"] != ts,
    )  # fmt: skip
    bot = BotIdentity(user=context.bot_user_id or "", id=context.bot_id or "")
    ctx.submit(partial(answer_in_thread, ctx, client, asked, bot), tell)


@dataclass(frozen=True)
class Question:
    text: str
    channel: str
    user: str
    ts: str
    thread_ts: str
    follow_up: bool  # asked in a thread: the thread so far is the history


@dataclass(frozen=True)
class BotIdentity:
    user: str  # the bot's user id
    id: str  # its bot id


def tell_privately(client: WebClient, message: str, *, channel: str, user: str,
                   thread_ts: str) -> None:  # fmt: skip
    client.chat_postEphemeral(channel=channel, user=user, thread_ts=thread_ts, text=message)


def answer_in_thread(ctx: BotContext, client: WebClient, q: Question, bot: BotIdentity) -> None:
    """In the pool: answer `q` in its thread, the thread so far as history."""
    history: list[Turn] = []
    if q.follow_up:
        history = thread_history(client, q.channel, q.thread_ts, q.ts, bot.user,
                                 ctx.settings.history_turns, bot_id=bot.id)  # fmt: skip
    answer = ctx.answer(q.text, q.channel, history)
    answer_id = ctx.store.add_answer(answer, user=q.user, channel=q.channel, thread_ts=q.thread_ts)
    ctx.state.add_thread(q.channel, q.thread_ts)  # before posting: a quick reply is a follow-up
    client.chat_postMessage(
        channel=q.channel,
        thread_ts=q.thread_ts,
        text=fallback_text(answer),
        blocks=answer_blocks(answer, answer_id=answer_id),
        unfurl_links=False,
        unfurl_media=False,
    )


def thread_history(
    client: WebClient,
    channel: str,
    thread_ts: str,
    before_ts: str,
    bot_user: str,
    turns: int,
    *,
    bot_id: str = "",
) -> list[Turn]:
    """The thread's messages before `before_ts` as engine Turns.

    Only this bot's own messages (its `bot_user` id or `bot_id`) are the assistant's;
    people's and other bots' messages are the user's. Reads the first 100 replies only
    (no paging): the history keeps the last `turns` of those.
    """
    resp = client.conversations_replies(channel=channel, ts=thread_ts, limit=100)
    history: list[Turn] = []
    for m in resp.get("messages") or []:
        if float(m.get("ts", 0)) >= float(before_ts):
            continue
        if m.get("subtype") not in (None, "bot_message"):
            continue
        ours = (bool(bot_id) and m.get("bot_id") == bot_id) or (
            bool(bot_user) and m.get("user") == bot_user
        )
        text = (m.get("text") or "") if ours else strip_mentions(m.get("text") or "")
        if text:
            history.append(Turn(role="assistant" if ours else "user", text=text))
    return history[-turns:]
