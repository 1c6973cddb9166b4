"""Questions made from the docs themselves (and from user feedback), for evaluation and
for the retraining data set. Heuristic on purpose: a heading becomes the question, code
spans and numbers in the chunk become the keywords an answer must contain."""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from engine.evaluation.answers import Question
from engine.settings import Settings
from engine.types import Passage

log = logging.getLogger(__name__)

_CODE = re.compile(r"`([^`\n]{2,40})`")
_NUMBER = re.compile(
    r"(?<![\w.])(\d+(?:[.:]\d+)?(?:\s?(?:%|minutes?|hours?|days?|weeks?|"
    r"seconds?|ms|s|GB|MB|UTC))?)(?![\w.])"
)
_GENERIC_HEADINGS = {"", "overview", "introduction", "notes", "see also", "summary", "faq"}

# Off-topic questions an internal engineering handbook is not expected to answer; the
# right reply to each is to abstain.
UNANSWERABLE = (
    "what's the wifi password for the guest network?",
    "how many weeks of parental leave do we get?",
    "what is the dress code for the office party?",
    "who won the company chess tournament last year?",
    "what is the capital of Australia?",
    "how do I expense a new standing desk?",
    "what time does the cafeteria close on Saturdays?",
    "which airline do we book for client visits?",
)


def load_chunks(settings: Settings, collection: str | None = None) -> list[Passage]:
    """Every passage of a collection's published index, in source order."""
    from engine.factory import build_engine

    return build_engine(settings, with_generator=False).chunks(collection)


def keywords_of(text: str, limit: int = 3) -> list[str]:
    found: list[str] = []
    for m in _CODE.finditer(text):
        k = m.group(1).strip()
        if k and k not in found:
            found.append(k)
    for m in _NUMBER.finditer(text):
        k = m.group(1).strip()
        if len(k) > 1 and k not in found:
            found.append(k)
    return found[:limit]


def question_for(chunk: Passage) -> str | None:
    heading = chunk.heading.split(" › ")[-1].strip().strip("#").strip()
    if heading.lower() in _GENERIC_HEADINGS:
        heading = ""
    title = chunk.title.strip()
    if not heading and not title:
        return None
    if heading and title and heading.lower() != title.lower():
        return f"What do the docs say about {heading[0].lower() + heading[1:]} in {title}?"
    subject = heading or title
    return f"What do the docs say about {subject[0].lower() + subject[1:]}?"


def questions_from_chunks(chunks: Sequence[Passage]) -> list[Question]:
    out: list[Question] = []
    seen: set[str] = set()
    for c in chunks:
        q = question_for(c)
        kws = keywords_of(c.text)
        if not q or not kws or q.lower() in seen:
            continue  # an answer without checkable facts teaches and tests nothing
        seen.add(q.lower())
        out.append(Question(f"doc-{_short(c.id)}", q, (c.source,), tuple(kws), "answerable"))
    return out


def unanswerable_questions() -> list[Question]:
    return [
        Question(f"off-{i:02d}", q, (), (), "unanswerable")
        for i, q in enumerate(UNANSWERABLE, start=1)
    ]


def feedback_records(home: Path, state_url: str = "") -> list[dict[str, Any]]:
    """Verdicts from the feedback store (written by the Slack bot), as dicts: the
    PostgreSQL one at `state_url` if given, else the SQLite file in `home`."""
    from engine.types import Answer
    from state import FeedbackStore, PostgresFeedbackStore, SQLiteFeedbackStore, feedback_path

    path = feedback_path(home)
    if not state_url and not path.exists():
        return []
    where = "state_url" if state_url else str(path)
    try:
        store: FeedbackStore[Answer]
        if state_url:
            store = PostgresFeedbackStore(state_url, Answer.from_json)
        else:
            store = SQLiteFeedbackStore(path, Answer.from_json)
        try:
            return [asdict(r) for r in store.records()]
        finally:
            store.close()
    except Exception as exc:  # a damaged store must not break evaluation or retraining
        log.warning("could not read feedback from %s: %s", where, exc)
        return []


def feedback_target(record: Mapping[str, Any]) -> str | None:
    """The answer a feedback record endorses: the user's correction for "correction",
    the answer itself for "helpful"; None for "not_helpful" (nothing to imitate) or
    when that text is empty."""
    verdict = record.get("verdict")
    if verdict == "correction":
        text = record.get("correction")
    elif verdict == "helpful":
        text = record.get("answer")
    else:
        return None
    text = " ".join(str(text or "").split())
    return text or None


def questions_from_feedback(records: Sequence[dict[str, Any]]) -> list[Question]:
    """Helpful answers become answerable questions whose gold is what they cited."""
    out = []
    for r in records:
        question = r.get("question") or ""
        text = feedback_target(r)
        if not question or text is None:
            continue
        sources = [
            c.get("source") if isinstance(c, dict) else str(c)
            for c in r.get("citations") or r.get("sources") or []
        ]
        kws = keywords_of(text)
        if sources:
            out.append(
                Question(
                    f"fb-{_short(question)}", question, tuple(s for s in sources if s), tuple(kws)
                )
            )
    return out


def make_questions(
    settings: Any, collection: str | None = None, *, limit: int = 0
) -> list[Question]:
    questions = questions_from_chunks(load_chunks(settings, collection))
    if limit:
        questions = questions[:limit]
    questions += questions_from_feedback(feedback_records(settings.home, settings.state_url))
    return questions + unanswerable_questions()


def _short(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()[:10]
