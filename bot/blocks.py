"""Answer → Block Kit, within Slack's limits.

Limits (Slack docs): 3,000 characters of text per section, 50 blocks per message, and
messages whose blocks hold much more than ~13k characters fail; we keep the total under
`MAX_TOTAL_CHARS` by trimming the answer text (the sources stay: they carry the proof).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from engine import CITATION_MARKER, Answer, Citation, marker_numbers

SECTION_CHARS = 3000
MAX_BLOCKS = 50
MAX_TOTAL_CHARS = 11_000
# A context block holds at most 10 elements: a heading, 8 sources, "…and N more".
MAX_SOURCES = 8
FALLBACK_CHARS = 3000

# action_ids; listeners/actions.py registers these.
SHARE = "kb_share"
HELPFUL = "kb_helpful"
NOT_HELPFUL = "kb_not_helpful"
SUGGEST = "kb_suggest"
SUGGEST_VIEW = "kb_suggest_view"

Block = dict[str, Any]

HELP_TEXT = (
    "*Ask the team's docs, get an answer with sources.*\n"
    "• `/kb how do I roll back a deploy?` answers privately; *Share in channel* posts "
    "it for everyone.\n"
    "• Mention me (`@teamkb how do I page the secondary?`) to get the answer in a "
    "thread; reply in that thread to ask a follow-up.\n"
    "• In a direct message, just ask.\n"
    "Each answer links its sources ([1], [2]…). Use *Helpful* / *Not helpful* or "
    "*Suggest a better answer*: feedback improves the answers."
)


def escape(text: str) -> str:
    """Slack mrkdwn control characters (& < >) must be escaped in user-visible text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _link(url: str | None, label: str) -> str:
    # '|' and '>' end a link's label; Slack has no escape for them inside one.
    label = label.replace("|", "¦").replace(">", "›")
    return f"<{url}|{label}>" if url else label


def link_citations(text: str, citations: tuple[Citation, ...]) -> str:
    """Escape the answer and turn each [n] marker into a Slack link to its source."""
    by_n = {c.n: c for c in citations}

    def link(m: re.Match[str]) -> str:
        numbers = marker_numbers(m)
        c = by_n.get(numbers[0]) if len(numbers) == 1 else None
        return _link(c.url, m.group(0)) if c else m.group(0)

    return CITATION_MARKER.sub(link, escape(text))


def updated_ago(updated_at: str, now: datetime | None = None) -> str:
    if not updated_at:
        return ""
    try:
        when = datetime.fromisoformat(updated_at.replace("Z", "+00:00"))
    except ValueError:
        return ""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    days = max(0, ((now or datetime.now(UTC)) - when).days)
    if days == 0:
        return "updated today"
    if days == 1:
        return "updated yesterday"
    return f"updated {days} days ago"


def source_line(c: Citation, now: datetime | None = None) -> str:
    title = c.title or c.source
    if c.heading and c.heading != title:
        title = f"{title} › {c.heading}"
    parts = [
        f"[{c.n}] " + _link(c.url, escape(title)),
        f"`{escape(c.source)}:{c.lines[0]}-{c.lines[1]}`",
    ]
    ago = updated_ago(c.updated_at, now)
    if ago:
        parts.append(ago)
    return " · ".join(parts)[:SECTION_CHARS]


def split_text(text: str, limit: int = SECTION_CHARS) -> list[str]:
    """Split at paragraph, line or sentence ends, never inside a <link|label>."""
    chunks: list[str] = []
    while len(text) > limit:
        window = text[:limit]
        cut = -1
        for sep in ("\n\n", "\n", ". ", " "):
            cut = window.rfind(sep)
            if cut > limit // 2:
                cut += len(sep)
                break
        if cut <= 0:
            cut = limit
        # Back off if the cut falls inside a link.
        opened = window.rfind("<", 0, cut)
        if opened > window.rfind(">", 0, cut) and opened > 0:
            cut = opened
        chunks.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    if text.strip():
        chunks.append(text.rstrip())
    return chunks


def _trim(text: str, budget: int) -> str:
    if len(text) <= budget:
        return text
    cut = text[: max(0, budget - 40)]
    opened = cut.rfind("<")
    if opened > cut.rfind(">"):
        cut = cut[:opened]
    return cut.rstrip() + " … _(trimmed: see the sources)_"


MAX_QUOTE_CHARS = 600  # per quote in Slack: the engine's quotes are ~300, this bounds odd ones
MORE_QUOTES = "_(more quotes: see the sources)_"


def quote_block(answer: Answer) -> Block | None:
    """The exact doc lines behind the answer, as a Slack quote block under it: one
    `>` line per file line, each quote tagged with its citation number and lines."""
    if not answer.cites_sources:
        return None
    parts: list[str] = []
    size = -1  # the joined length so far (no newline before the first part)
    for c in answer.citations[:MAX_SOURCES]:
        if not c.quote:
            continue
        body = escape(c.quote[:MAX_QUOTE_CHARS])
        lines = [f"&gt; {ln.strip()}" for ln in body.split("\n") if ln.strip()]
        part = f"[{c.n}] `{escape(c.location)}`\n" + "\n".join(lines)
        # Whole quotes only: a cut one would read as if the docs said less (and could
        # split an escape like "&gt;"); the sources list still names the rest.
        if parts and size + 1 + len(part) > SECTION_CHARS - len(MORE_QUOTES):
            parts.append(MORE_QUOTES)
            break
        parts.append(part)
        size += 1 + len(part)
    if not parts:
        return None
    return _section("\n".join(parts)[:SECTION_CHARS])


def warning(answer: Answer) -> str:
    if not (answer.unsupported or answer.degraded or answer.abstained):
        return ""
    return ":warning: " + escape(answer.notice or "Check this answer against the sources.")


def answer_blocks(
    answer: Answer,
    *,
    answer_id: str = "",
    shareable: bool = False,
    asked_by: str = "",
    now: datetime | None = None,
) -> list[Block]:
    """The answer, its sources, a warning if any, and the buttons (if `answer_id`)."""
    head: list[Block] = []
    if asked_by:
        head.append(_context([f"<@{asked_by}> asked: {escape(answer.question)}"[:SECTION_CHARS]]))
    tail: list[Block] = []
    quotes = quote_block(answer)
    if quotes is not None:
        tail.append(quotes)
    warn = warning(answer)
    if warn:
        tail.append(_context([warn[:SECTION_CHARS]]))
    if answer.citations:
        lines = [source_line(c, now) for c in answer.citations[:MAX_SOURCES]]
        extra = len(answer.citations) - MAX_SOURCES
        if extra > 0:
            lines.append(f"…and {extra} more source{'s' if extra > 1 else ''}")
        tail.append(_context([f"*{answer.citations_label}*", *lines]))
    if answer_id:
        tail.append(actions(answer_id, shareable=shareable))
    fixed = sum(_chars(b) for b in head + tail)
    body = _trim(link_citations(answer.text, answer.citations), MAX_TOTAL_CHARS - fixed)
    room = MAX_BLOCKS - len(head) - len(tail)
    sections = [_section(t) for t in split_text(body)][:room]
    return head + sections + tail


def actions(answer_id: str, *, shareable: bool) -> Block:
    elements: list[Block] = []
    if shareable:
        elements.append(_button("Share in channel", SHARE, answer_id, style="primary"))
    elements += [
        _button(":thumbsup: Helpful", HELPFUL, answer_id),
        _button(":thumbsdown: Not helpful", NOT_HELPFUL, answer_id),
        _button("Suggest a better answer", SUGGEST, answer_id),
    ]
    return {"type": "actions", "block_id": f"kb_actions:{answer_id}", "elements": elements}


def fallback_text(answer: Answer) -> str:
    """The notification / screen-reader text that goes with the blocks, escaped like
    them: a `<!channel>` in a doc must not ping anyone."""
    text = escape(answer.text)
    if len(text) <= FALLBACK_CHARS:
        return text
    text = text[: FALLBACK_CHARS - 1]
    amp = text.rfind("&", -4)  # never end on half an entity (&amp; &lt; &gt;)
    if amp != -1 and ";" not in text[amp:]:
        text = text[:amp]
    return text + "…"


def message_blocks(text: str) -> list[Block]:
    return [_section(t) for t in split_text(text)][:MAX_BLOCKS]


def searching_blocks(question: str) -> list[Block]:
    q = escape(question)
    if len(q) > 200:
        q = q[:199] + "…"
    return [_context([f":mag: Searching the docs for _{q}_…"])]


def suggest_view(answer_id: str, question: str) -> dict[str, Any]:
    q = question if len(question) <= 150 else question[:149] + "…"
    return {
        "type": "modal",
        "callback_id": SUGGEST_VIEW,
        "private_metadata": answer_id,
        "title": {"type": "plain_text", "text": "Suggest a better answer"},
        "submit": {"type": "plain_text", "text": "Send"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            _context([f"*Question:* {escape(q)}"]),
            {
                "type": "input",
                "block_id": "correction",
                "label": {"type": "plain_text", "text": "A better answer"},
                "element": {
                    "type": "plain_text_input",
                    "action_id": "text",
                    "multiline": True,
                    "max_length": 3000,
                },
            },
        ],
    }


def _button(text: str, action_id: str, value: str, style: str = "") -> Block:
    b: Block = {
        "type": "button",
        "text": {"type": "plain_text", "text": text, "emoji": True},
        "action_id": action_id,
        "value": value,
    }
    if style:
        b["style"] = style
    return b


def _section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _context(texts: list[str]) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": t} for t in texts[:10]]}


def _chars(block: Block) -> int:
    if block["type"] == "section":
        return len(block["text"]["text"])
    if block["type"] == "context":
        return sum(len(e["text"]) for e in block["elements"])
    return 200  # actions: labels and values, roughly
