"""Block Kit rendering and limits, settings, the feedback store, the Slack state, startup
checks."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.blocks import (
    FALLBACK_CHARS,
    MAX_BLOCKS,
    SECTION_CHARS,
    answer_blocks,
    fallback_text,
    link_citations,
    split_text,
    updated_ago,
)
from bot.context import RateLimiter, strip_mentions
from bot.listeners.events import thread_history
from bot.main import run
from bot.settings import SlackSettings
from engine import Answer, Citation, ConfigError
from state import SQLiteFeedbackStore, SQLiteSlackState
from tests.conftest import make_settings

NOW = datetime(2025, 6, 30, tzinfo=UTC)


def cite(n: int, url: str | None = "https://docs.example.com/a.md#L1-L9") -> Citation:
    return Citation(n=n, source=f"dir/doc{n}.md", title=f"Doc {n}", heading="Steps",
                    lines=(n, n + 8), url=url, updated_at="2025-06-27T10:00:00+00:00")  # fmt: skip


def all_text(blocks) -> str:
    return json.dumps(blocks)


def test_citations_become_slack_links_and_text_is_escaped():
    text = link_citations("Use <b> & roll back [1], see [2] and [9].", (cite(1), cite(2, None)))
    assert text.startswith(
        "Use &lt;b&gt; &amp; roll back <https://docs.example.com/a.md#L1-L9|[1]>"
    )
    assert "see [2] and [9]." in text  # no web link for [2], no citation for [9]


def test_sources_list_is_compact():
    blocks = answer_blocks(Answer("q", "Roll back [1].", (cite(1),)), now=NOW)
    [sources] = [b for b in blocks if b["type"] == "context"]
    line = sources["elements"][1]["text"]
    assert line == ("[1] <https://docs.example.com/a.md#L1-L9|Doc 1 › Steps> · "
                    "`dir/doc1.md:1-9` · updated 2 days ago")  # fmt: skip
    assert not [b for b in blocks if b["type"] == "actions"]  # no id, no buttons


def test_updated_ago():
    assert updated_ago("2025-06-30T01:00:00Z", NOW) == "updated today"
    assert updated_ago("2025-06-29T00:00:00+00:00", NOW) == "updated yesterday"
    assert updated_ago("2024-06-30", NOW) == "updated 365 days ago"
    assert updated_ago("", NOW) == updated_ago("not a date", NOW) == ""


@pytest.mark.parametrize("flag", ["unsupported", "degraded", "abstained"])
def test_warning_line_for_unsupported_degraded_or_abstained(flag):
    answer = Answer("q", "text", (cite(1),), notice="Check <this>", **{flag: True})
    blocks = answer_blocks(answer)
    assert ":warning: Check &lt;this&gt;" in all_text(blocks)
    assert ":warning:" not in all_text(answer_blocks(Answer("q", "text [1]", (cite(1),))))


def test_long_answers_stay_within_slack_limits_and_links_stay_whole():
    long_text = " ".join(f"Step {i} of the procedure is described here [{i % 15 + 1}]."
                         for i in range(2000))  # fmt: skip
    cites = tuple(cite(n) for n in range(1, 16))
    blocks = answer_blocks(Answer("q", long_text, cites), answer_id="abc", shareable=True)
    assert len(blocks) <= MAX_BLOCKS
    sections = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    assert len(sections) >= 2 and all(len(s) <= SECTION_CHARS for s in sections)
    for s in sections:
        assert s.count("<") == s.count(">")  # no link cut in half
    assert "trimmed" in sections[-1]
    assert len(all_text(blocks)) < 13_000
    context = [b for b in blocks if b["type"] == "context"][-1]
    assert len(context["elements"]) <= 10 and "7 more sources" in all_text(context)
    assert blocks[-1]["type"] == "actions"  # the buttons survive trimming


def test_split_text_prefers_paragraphs():
    text = ("a" * 2000 + "\n\n") * 3
    parts = split_text(text)
    assert [len(p) for p in parts] == [2000, 2000, 2000]


def test_strip_mentions_and_rate_limiter():
    assert strip_mentions("<@UBOT> how  do I <@U2|bob> page?") == "how do I page?"
    now = [0.0]
    limiter = RateLimiter(2, clock=lambda: now[0])
    assert limiter.allow("u") == 0 and limiter.allow("u") == 0
    assert 59 < limiter.allow("u") <= 60
    assert limiter.allow("v") == 0
    now[0] = 60.5
    assert limiter.allow("u") == 0


def test_settings_from_the_slack_section(tmp_path: Path):
    settings = make_settings(tmp_path, sections={"slack": {
        "rate_limit_per_minute": 3, "default_collections": ["handbook"],
        "channels": {"GPRIV": {"collections": ["private"], "answer_without_mention": True}},
    }})  # fmt: skip
    env = {"SLACK_BOT_TOKEN": "xoxb-secret", "SLACK_SIGNING_SECRET": "shh",
           "SLACK_API_URL": "http://127.0.0.1:9/api/"}  # fmt: skip
    s = SlackSettings.from_settings(settings, env)
    assert s.rate_limit_per_minute == 3 and s.api_url == "http://127.0.0.1:9/api/"
    assert s.channel("GPRIV").collections == ("private",)
    assert s.channel("GPRIV").answer_without_mention
    assert s.channel("C1").collections == ("handbook",)
    assert "xoxb-secret" not in repr(s) and "shh" not in repr(s)
    with pytest.raises(ConfigError, match="rate_limit"):
        SlackSettings.from_settings(make_settings(tmp_path, sections={"slack": {
            "rate_limit_per_minute": 0}}))  # fmt: skip
    with pytest.raises(ConfigError, match="Unknown"):
        SlackSettings.from_settings(make_settings(tmp_path, sections={"slack": {"chanels": {}}}))


def test_missing_secrets_are_a_clear_config_error(tmp_path: Path, monkeypatch):
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    args = argparse.Namespace(http=True, socket=False, port=0, host="127.0.0.1")
    with pytest.raises(ConfigError, match="SLACK_SIGNING_SECRET") as err:
        run(args, make_settings(tmp_path))
    assert "xoxb-1" not in str(err.value)
    args.socket, args.http = True, False
    with pytest.raises(ConfigError, match="SLACK_APP_TOKEN"):
        run(args, make_settings(tmp_path))


def test_feedback_store_reads_back_records(tmp_path: Path):
    store = SQLiteFeedbackStore(tmp_path / "feedback.sqlite", Answer.from_json)
    answer = Answer("q?", "a [1].", (cite(1),), model="m", adapter="ad-1", unsupported=True,
                    notice="n")  # fmt: skip
    aid = store.add_answer(answer, user="U1", channel="C1")
    store.add_feedback(aid, user="U1", channel="C1", verdict="not_helpful")
    store.add_feedback(aid, user="U2", channel="C1", verdict="helpful")
    store.add_feedback(aid, user="U1", channel="C1", verdict="correction", correction="b")
    # durable: a new process reads it
    again = SQLiteFeedbackStore(tmp_path / "feedback.sqlite", Answer.from_json)
    records = again.records()
    assert [(r.user, r.verdict) for r in records] == [
        ("U1", "not_helpful"), ("U2", "helpful"), ("U1", "correction")]  # fmt: skip
    r = records[0]
    assert (r.question, r.answer, r.model, r.adapter) == ("q?", "a [1].", "m", "ad-1")
    assert r.citations[0]["url"] == "https://docs.example.com/a.md#L1-L9"
    assert [x.correction for x in again.records(verdict="correction")] == ["b"]
    stored = again.answer(aid)
    assert stored is not None and stored.answer.unsupported and stored.answer.notice == "n"


def test_slack_state_shares_once_claims_once_and_knows_its_threads(tmp_path: Path):
    aid = "a1"
    again = SQLiteSlackState(tmp_path / "slack-state.sqlite")
    assert again.mark_shared(aid) and not again.mark_shared(aid)
    again.unmark_shared(aid)  # the post failed: it may be shared again, once
    assert again.mark_shared(aid) and not again.mark_shared(aid)
    assert again.claim("k") and not again.claim("k")
    assert again.shared_at(aid) and again.shared_at("other") == ""
    assert not again.answered_thread("C1", "1.1")
    again.add_thread("C1", "1.1")
    restarted = SQLiteSlackState(tmp_path / "slack-state.sqlite")  # durable across restarts
    assert restarted.answered_thread("C1", "1.1") and not restarted.answered_thread("C2", "1.1")
    assert not restarted.claim("k") and not restarted.mark_shared(aid)


LEGACY_SCHEMA = """
CREATE TABLE answers (id TEXT PRIMARY KEY, at TEXT, user TEXT, channel TEXT,
  thread_ts TEXT DEFAULT '', question TEXT, answer TEXT, citations TEXT, model TEXT,
  adapter TEXT, collection TEXT, shared_at TEXT DEFAULT '', payload TEXT);
CREATE TABLE seen (key TEXT PRIMARY KEY, at TEXT);
INSERT INTO answers VALUES ('old1', '2025-01-01', 'U1', 'C1', '', 'q', 'a', '[]', 'm', '',
  'handbook', '2025-01-02', '{}');
INSERT INTO answers VALUES ('old2', '2025-01-01', 'U1', 'C1', '9.9', 'q', 'a', '[]', 'm', '',
  'handbook', '', '{}');
INSERT INTO seen VALUES ('msg:C1:9.9', '2025-01-01');
"""


def test_slack_state_takes_over_what_an_older_feedback_store_knew(tmp_path: Path):
    legacy = tmp_path / "feedback.sqlite"
    with sqlite3.connect(legacy) as db:
        db.executescript(LEGACY_SCHEMA)
    db.close()
    state = SQLiteSlackState(tmp_path / "slack-state.sqlite", legacy=legacy)
    assert not state.mark_shared("old1") and state.mark_shared("old2")
    assert not state.claim("msg:C1:9.9")
    assert state.answered_thread("C1", "9.9") and not state.answered_thread("C1", "")
    # The engine's store still reads and writes the older file.
    store = SQLiteFeedbackStore(legacy, Answer.from_json)
    aid = store.add_answer(Answer("q2", "a2", ()), user="U2", channel="C2")
    stored = store.answer(aid)
    assert stored is not None and stored.answer.text == "a2"
    # A new store has none of the Slack-only state: nothing is copied.
    (tmp_path / "new").mkdir()
    SQLiteFeedbackStore(tmp_path / "new" / "feedback.sqlite", Answer.from_json)
    fresh = SQLiteSlackState(tmp_path / "new" / "slack-state.sqlite",
                       legacy=tmp_path / "new" / "feedback.sqlite")  # fmt: skip
    assert fresh.mark_shared("old1")


def test_fallback_text_is_escaped_so_a_doc_cannot_ping_the_channel():
    answer = Answer("q", "Run <!channel> & tell <@U1> [1].", (cite(1),))
    text = fallback_text(answer)
    assert text == "Run &lt;!channel&gt; &amp; tell &lt;@U1&gt; [1]."
    whole = fallback_text(Answer("q", "a" * (FALLBACK_CHARS - 5) + "<<<", ()))
    assert len(whole) == FALLBACK_CHARS and whole.endswith("a&lt;…")
    cut = fallback_text(Answer("q", "a" * (FALLBACK_CHARS - 2) + "<<<", ()))
    assert len(cut) <= FALLBACK_CHARS and cut.endswith("aa…")  # never half an entity


class Replies:
    def __init__(self, messages: list[dict[str, str]]) -> None:
        self.messages = messages

    def conversations_replies(self, **kwargs: str) -> dict[str, list[dict[str, str]]]:
        return {"messages": self.messages}


def test_thread_history_only_our_messages_are_the_assistant():
    client = Replies([
        {"ts": "1.1", "user": "U1", "text": "<@UBOT> how do I roll back?"},
        {"ts": "1.2", "user": "UBOT", "bot_id": "BBOT", "text": "Run rollback [1]."},
        {"ts": "1.3", "user": "UOTHER", "bot_id": "BOTHER", "subtype": "bot_message",
         "text": "Deploy finished"},
        {"ts": "1.4", "user": "U1", "subtype": "channel_join", "text": "joined"},
        {"ts": "1.5", "user": "U1", "text": "and then?"},  # the question itself
        {"ts": "1.6", "user": "U2", "text": "later"},
    ])  # fmt: skip
    history = thread_history(client, "C1", "1.1", "1.5", "UBOT", 8, bot_id="BBOT")  # type: ignore[arg-type]
    assert [(t.role, t.text) for t in history] == [
        ("user", "how do I roll back?"), ("assistant", "Run rollback [1]."),
        ("user", "Deploy finished")]  # fmt: skip
    assert len(thread_history(client, "C1", "1.1", "1.5", "UBOT", 2, bot_id="BBOT")) == 2  # type: ignore[arg-type]


def test_quotes_that_do_not_fit_slack_are_left_out_whole_not_cut():
    quote = "\n".join(f"Line {i} of the runbook says to wait > 5 minutes." for i in range(11))
    cites = tuple(dataclasses.replace(cite(n), quote=quote, quote_lines=(n, n + 10))
                  for n in range(1, 9))  # fmt: skip
    blocks = answer_blocks(Answer("q", "Wait [1].", cites), now=NOW)
    [block] = [b for b in blocks if b["type"] == "section" and "&gt; Line 0" in b["text"]["text"]]
    text = block["text"]["text"]
    assert len(text) <= SECTION_CHARS and text.endswith("_(more quotes: see the sources)_")
    shown = text.count("&gt; Line 0 ")
    assert 1 <= shown < 8 and text.count("&gt; Line 10 of the runbook") == shown  # each whole
