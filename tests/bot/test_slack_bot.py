"""The Bolt app over HTTP, driven by signed requests as Slack sends them; assertions are
on what a user would see (what the bot posted to the stand-in Slack)."""

from __future__ import annotations

import http.client
import json
import logging
import time
from typing import Any
from urllib.parse import urlsplit

from bot.blocks import HELPFUL, NOT_HELPFUL, SHARE, SUGGEST, SUGGEST_VIEW
from engine import Answer
from engine.errors import InvalidQuestion
from state import SQLiteFeedbackStore
from tests.fakes.slack_api import BOT_USER

LINK = "<https://git.example.com/platform/handbook/blob/main/"


def texts(blocks: list[dict[str, Any]]) -> str:
    out = []
    for b in blocks:
        if b["type"] == "section":
            out.append(b["text"]["text"])
        elif b["type"] == "context":
            out += [e["text"] for e in b["elements"]]
    return "\n".join(out)


def buttons(blocks: list[dict[str, Any]]) -> dict[str, str]:
    return {e["action_id"]: e["value"] for b in blocks if b["type"] == "actions"
            for e in b["elements"]}  # fmt: skip


def check_limits(blocks: list[dict[str, Any]]) -> None:
    assert 0 < len(blocks) <= 50
    for b in blocks:
        if b["type"] == "section":
            assert len(b["text"]["text"]) <= 3000
    assert len(json.dumps(blocks)) < 13_000


def test_slash_command_acks_at_once_then_answers_privately(ollama_engine, make_bot):
    bot = make_bot(ollama_engine)
    reply = bot.command("how do I roll back a deploy?")
    assert reply.status == 200
    assert reply.elapsed < 1.0, "the acknowledgement must not wait for the answer"
    ack = reply.json()
    assert ack["response_type"] == "ephemeral" and "Searching" in texts(ack["blocks"])

    [answer] = bot.wait_response(reply.rid)
    assert bot.ctx.idle() and len(bot.responses(reply.rid)) == 1  # nothing after the answer
    assert answer["response_type"] == "ephemeral" and answer["replace_original"] is True
    blocks = answer["blocks"]
    check_limits(blocks)
    shown = texts(blocks)
    assert LINK in shown and "|[1]>" in shown  # [1] links to the doc
    assert "*Sources*" in shown and "rollback" in shown.lower()
    assert ".md:" in shown and "updated" in shown  # path:lines, updated N days ago
    assert set(buttons(blocks)) == {SHARE, HELPFUL, NOT_HELPFUL, SUGGEST}
    assert answer["text"]  # notification fallback
    assert bot.engine.asks[0]["collection"] == "handbook"


def test_help_and_empty_command_show_usage_without_asking(ollama_engine, make_bot):
    bot = make_bot(ollama_engine)
    for text in ("", "help", "  "):
        reply = bot.command(text)
        assert reply.status == 200
        assert "/kb" in reply.json()["text"] and "Share in channel" in reply.json()["text"]
    assert bot.ctx.idle()  # every listener has returned: nothing more will happen
    assert bot.engine.asks == [] and not bot.slack.responses


def test_share_posts_publicly_once_and_removes_the_private_copy(ollama_engine, make_bot):
    bot = make_bot(ollama_engine)
    reply = bot.command("who is next when primary on-call doesn't ack?", channel="C7")
    [answer] = bot.wait_response(reply.rid)
    answer_id = buttons(answer["blocks"])[SHARE]

    # Someone else clicking first (a forged click) neither posts nor uses up the share.
    _, rid0 = bot.click(SHARE, answer_id, channel="C7", user="U2")
    assert "no longer available" in bot.wait_response(rid0)[0]["text"]
    assert bot.slack.of("chat.postMessage") == []

    click, rid = bot.click(SHARE, answer_id, channel="C7")
    assert click.status == 200 and click.elapsed < 1.0
    [post] = bot.slack.wait_for(lambda s: s.of("chat.postMessage"))
    assert post["channel"] == "C7" and "thread_ts" not in post
    shown = texts(post["blocks"])
    assert "<@U1> asked:" in shown and LINK in shown
    assert SHARE not in buttons(post["blocks"]) and HELPFUL in buttons(post["blocks"])
    check_limits(post["blocks"])
    assert [r.get("delete_original") for r in bot.wait_response(rid)] == [True]

    _, rid2 = bot.click(SHARE, answer_id, channel="C7")
    assert "Already shared" in bot.wait_response(rid2)[0]["text"]
    # Someone else's or another channel's click does not move the answer.
    _, rid3 = bot.click(SHARE, answer_id, channel="C8", user="U1")
    assert "no longer available" in bot.wait_response(rid3)[0]["text"]
    assert len(bot.slack.of("chat.postMessage")) == 1


def test_a_failed_share_can_be_retried(ollama_engine, make_bot):
    bot = make_bot(ollama_engine)
    reply = bot.command("how do I roll back a deploy?", channel="C7")
    [answer] = bot.wait_response(reply.rid)
    answer_id = buttons(answer["blocks"])[SHARE]

    bot.slack.errors["chat.postMessage"] = "not_in_channel"
    _, rid = bot.click(SHARE, answer_id, channel="C7")
    [hint] = bot.wait_response(rid)
    assert "/invite @teamkb" in hint["text"] and not hint.get("delete_original")

    del bot.slack.errors["chat.postMessage"]  # the user invited the bot
    _, rid2 = bot.click(SHARE, answer_id, channel="C7")
    assert [r.get("delete_original") for r in bot.wait_response(rid2)] == [True]
    posts = bot.slack.of("chat.postMessage")
    assert len(posts) == 2 and posts[1]["channel"] == "C7"  # a failed try, then the post
    assert bot.slack.threads and len(bot.slack.threads) == 1  # posted once


def test_mention_is_answered_in_a_thread_once(ollama_engine, make_bot):
    bot = make_bot(ollama_engine)
    event = bot.mention("how do I deploy ledger-api to production?")
    reply = bot.event(event)
    assert reply.status == 200 and reply.elapsed < 1.0
    # Slack also sends the plain message event for the same message: no second answer.
    bot.event({**event, "type": "message"})
    [post] = bot.slack.wait_for(lambda s: s.of("chat.postMessage"))
    assert post["channel"] == "C1" and post["thread_ts"] == event["ts"]
    shown = texts(post["blocks"])
    assert LINK in shown and "*Sources*" in shown
    assert SHARE not in buttons(post["blocks"]) and HELPFUL in buttons(post["blocks"])
    check_limits(post["blocks"])
    assert bot.ctx.idle()
    assert len(bot.slack.of("chat.postMessage")) == 1
    assert "<@" not in bot.engine.asks[0]["question"]  # the mention is not the question


def test_follow_up_in_thread_uses_the_thread_history(ollama_engine, make_bot):
    bot = make_bot(ollama_engine)
    first = bot.mention("how do I roll back a deploy?")
    bot.event(first)
    bot.slack.wait_for(lambda s: s.of("chat.postMessage"))
    follow = bot.slack.user_message("C1", "and how long does it take?", thread_ts=first["ts"])
    bot.event({**follow, "channel_type": "channel"})  # no mention: it is our thread
    posts = bot.slack.wait_for(lambda s: len(s.of("chat.postMessage")) == 2 and
                               s.of("chat.postMessage"))  # fmt: skip
    assert posts[1]["thread_ts"] == first["ts"]
    assert bot.ctx.idle() and len(bot.slack.of("chat.postMessage")) == 2
    history = bot.engine.asks[1]["history"]
    assert [t.role for t in history] == ["user", "assistant"]
    assert history[0].text == "how do I roll back a deploy?"
    assert history[1].text == posts[0]["text"]


def test_dm_is_answered_in_thread_and_other_channel_chatter_ignored(ollama_engine, make_bot):
    bot = make_bot(ollama_engine)
    chatter = bot.slack.user_message("C1", "lunch anyone?")
    bot.event({**chatter, "channel_type": "channel"})
    dm = bot.slack.user_message("D1", "how do I page the secondary on-call?")
    bot.event({**dm, "channel_type": "im"})
    [post] = bot.slack.wait_for(lambda s: s.of("chat.postMessage"))
    assert post["channel"] == "D1" and post["thread_ts"] == dm["ts"]
    assert bot.ctx.idle()
    assert len(bot.engine.asks) == 1


def test_retries_never_produce_a_second_answer(ollama_engine, make_bot):
    bot = make_bot(ollama_engine)
    event = bot.mention("what is ledger-api?")
    replies = [bot.event(event, event_id="EvSame")]
    replies += [bot.event(event, event_id="EvSame", retry=n) for n in (1, 2, 3)]
    assert [r.status for r in replies] == [200] * 4
    bot.slack.wait_for(lambda s: s.of("chat.postMessage"))
    assert bot.ctx.idle()  # listeners and answers all done: no second answer is coming
    assert len(bot.slack.of("chat.postMessage")) == 1
    assert len(bot.engine.asks) == 1


def test_bad_signatures_are_rejected_with_401(ollama_engine, make_bot):
    bot = make_bot(ollama_engine)
    assert bot.command("how do I roll back?", sign=False).status == 401
    stale = int(time.time()) - 301
    assert bot.command("how do I roll back?", timestamp=stale).status == 401
    assert bot.event(bot.mention("hello?"), sign=False).status == 401
    bot.secret = "someone-elses-secret"
    assert bot.click(HELPFUL, "x")[0].status == 401
    assert bot.ctx.idle()
    assert bot.engine.asks == [] and not bot.slack.responses
    assert bot.slack.of("chat.postMessage") == []


def test_feedback_buttons_and_suggestion_are_stored(ollama_engine, make_bot, tmp_path):
    bot = make_bot(ollama_engine)
    reply = bot.command("how do I roll back a deploy?", user="U5", channel="C2")
    [answer] = bot.wait_response(reply.rid)
    answer_id = buttons(answer["blocks"])[HELPFUL]

    _, rid = bot.click(NOT_HELPFUL, answer_id, user="U5", channel="C2")
    assert "Thanks" in bot.wait_response(rid)[0]["text"]
    _, rid = bot.click(HELPFUL, answer_id, user="U5", channel="C2")  # changes their mind
    bot.wait_response(rid)
    bot.click(SUGGEST, answer_id, user="U5", channel="C2")
    [opened] = bot.slack.wait_for(lambda s: s.of("views.open"))
    assert opened["trigger_id"].startswith("trig.")
    assert opened["view"]["callback_id"] == SUGGEST_VIEW
    empty = bot.submit_view(SUGGEST_VIEW, answer_id, "   ", user="U5")
    assert empty.json()["response_action"] == "errors"
    ok = bot.submit_view(SUGGEST_VIEW, answer_id, "Run `shipit rollback ledger-api`.", user="U5")
    assert ok.status == 200 and not ok.body

    records = SQLiteFeedbackStore(
        tmp_path / "bot-home" / "feedback.sqlite", Answer.from_json
    ).records()
    assert [r.verdict for r in records] == ["helpful", "correction"]
    helpful, correction = records
    assert helpful.user == "U5" and helpful.channel == "C2"
    assert helpful.question == "how do I roll back a deploy?"
    assert helpful.answer and "[1]" in helpful.answer
    assert helpful.citations and helpful.citations[0]["source"].endswith(".md")
    assert helpful.citations[0]["url"].startswith("https://git.example.com/")
    assert helpful.model == "gemma3:270m" and helpful.adapter == ""
    assert correction.correction == "Run `shipit rollback ledger-api`."
    assert [
        r.verdict
        for r in SQLiteFeedbackStore(
            tmp_path / "bot-home" / "feedback.sqlite", Answer.from_json
        ).records(verdict="correction")
    ] == ["correction"]


def test_private_channel_docs_stay_in_that_channel(two_collection_engine, make_bot):
    bot = make_bot(
        two_collection_engine,
        channels={"GPRIV": {"collections": ["private"], "answer_without_mention": True}},
    )
    question = "what is the Nightingale budget?"
    public = bot.command(question, channel="C1")
    private = bot.command(question, channel="GPRIV")
    [pub_answer] = bot.wait_response(public.rid)
    [priv_answer] = bot.wait_response(private.rid)
    assert "nightingale" not in texts(pub_answer["blocks"]).lower()
    assert "nightingale.md:" in texts(priv_answer["blocks"])
    asked = {a["collection"] for a in bot.engine.asks}
    assert asked == {"handbook", "private"}
    # A mention or DM elsewhere searches the defaults only.
    bot.event(bot.mention(question, channel="C9"))
    [post] = bot.slack.wait_for(lambda s: s.of("chat.postMessage"))
    assert "nightingale" not in texts(post["blocks"]).lower()
    # answer_without_mention: a plain message in the private channel is answered.
    msg = bot.slack.user_message("GPRIV", "when is the Nightingale signing date?")
    bot.event({**msg, "channel_type": "group"})
    posts = bot.slack.wait_for(lambda s: len(s.of("chat.postMessage")) == 2 and
                               s.of("chat.postMessage"))  # fmt: skip
    assert posts[1]["channel"] == "GPRIV" and "nightingale.md:" in texts(posts[1]["blocks"])


def test_rate_limit_protects_the_model(ollama_engine, make_bot):
    bot = make_bot(ollama_engine, rate_limit_per_minute=2)
    replies = [bot.command(f"how do I roll back deploy number {i}?") for i in range(3)]
    assert all(r.status == 200 for r in replies)
    assert "faster than I can answer" in replies[2].json()["text"]
    bot.wait_response(replies[0].rid)
    bot.wait_response(replies[1].rid)
    assert len(bot.engine.asks) == 2
    # Another user is not affected.
    other = bot.command("how do I roll back?", user="U2")
    assert "Searching" in json.dumps(other.json())
    # Mentions count too, and the warning goes only to the asker.
    bot.event(bot.mention("how do I page?"))
    [warn] = bot.slack.wait_for(lambda s: s.of("chat.postEphemeral"))
    assert warn["user"] == "U1" and "faster" in warn["text"]


class Broken:
    def __init__(self, exc: Exception) -> None:
        self.exc = exc

    def ask(self, *args: Any, **kwargs: Any) -> Any:
        raise self.exc

    def search(self, *args: Any, **kwargs: Any) -> Any:
        raise self.exc


def test_errors_reach_the_user_as_a_short_friendly_message(make_bot, caplog):
    caplog.set_level(logging.INFO)
    bot = make_bot(Broken(RuntimeError("db password is hunter2")))
    reply = bot.command("how do I roll back?")
    [msg] = bot.wait_response(reply.rid)
    assert "something went wrong" in msg["text"] and "hunter2" not in msg["text"]
    assert "hunter2" in caplog.text  # the details are in the log

    bot2 = make_bot(Broken(InvalidQuestion("The question is too long (9000 characters).")))
    reply = bot2.command("x" * 50)
    [msg] = bot2.wait_response(reply.rid)
    assert "too long" in msg["text"]
    bot2.event(bot2.mention("hello there"))
    [eph] = bot2.slack.wait_for(lambda s: s.of("chat.postEphemeral"))
    assert "too long" in eph["text"] and eph["user"] == "U1"


def test_bot_ignores_its_own_messages(ollama_engine, make_bot):
    bot = make_bot(ollama_engine)
    own = {"type": "message", "user": BOT_USER, "bot_id": "BBOT", "text": "an answer",
           "ts": "1700000000.000100", "channel": "D1", "channel_type": "im"}  # fmt: skip
    assert bot.event(own).status == 200
    # Another bot mentioning us is not answered either (two bots could loop forever).
    other = {**bot.mention("what is ledger-api?"), "user": "UOTHER", "bot_id": "BOTHER"}
    assert bot.event(other).status == 200
    dm = {**other, "type": "message", "channel": "D1", "channel_type": "im",
          "ts": "1700000000.000200"}  # fmt: skip
    assert bot.event(dm).status == 200
    assert bot.ctx.idle()  # every listener has returned and queued nothing
    assert bot.engine.asks == []
    assert bot.slack.of("chat.postMessage") == [] and bot.slack.of("chat.postEphemeral") == []


def test_slack_rate_limits_are_retried(ollama_engine, make_bot):
    bot = make_bot(ollama_engine)
    bot.slack.rate_limited["chat.postMessage"] = 1
    bot.event(bot.mention("how do I roll back a deploy?"))
    [post] = bot.slack.wait_for(lambda s: s.of("chat.postMessage"))
    assert "*Sources*" in texts(post["blocks"])
    assert len(bot.slack.of("chat.postMessage:429")) == 1


def test_health_and_oversized_or_malformed_requests(ollama_engine, make_bot):
    bot = make_bot(ollama_engine)
    host, port = urlsplit(bot.url).hostname, urlsplit(bot.url).port

    def request(method: str, path: str, headers: dict[str, str]) -> tuple[int, str]:
        conn = http.client.HTTPConnection(host or "", port, timeout=10)
        try:
            conn.putrequest(method, path)
            for k, v in headers.items():
                conn.putheader(k, v)
            conn.endheaders()  # no body: the server must answer without reading one
            resp = conn.getresponse()
            return resp.status, resp.read().decode()
        finally:
            conn.close()

    assert request("GET", "/health", {}) == (200, "ok")
    assert request("GET", "/nowhere", {})[0] == 404
    assert request("POST", "/slack/events", {"Content-Length": str(2 * 1024 * 1024)})[0] == 413
    assert request("POST", "/slack/events", {"Content-Length": "many"})[0] == 400
    assert bot.engine.asks == [] and not bot.slack.responses
