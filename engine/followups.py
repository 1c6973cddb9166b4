"""Follow-up questions ("and how do I roll it back?") lean on earlier turns for retrieval."""

from __future__ import annotations

import re
from collections.abc import Sequence

from engine.types import Turn

_ANAPHORA = re.compile(
    r"\b(it|its|that|this|those|these|they|them|there|one|same|also|instead|else)\b|"
    r"^(and|but|so|what about|how about|then|ok|okay)\b",
    re.I,
)


def retrieval_query(question: str, history: Sequence[Turn] | None) -> str:
    """The text to retrieve with: the question, plus the previous user question when
    this one reads as a follow-up (short, or leaning on a pronoun)."""
    if not history:
        return question
    previous = [t.text for t in history if t.role == "user" and t.text.strip()]
    if not previous:
        return question
    words = question.split()
    if len(words) <= 6 or _ANAPHORA.search(question):
        return f"{previous[-1].strip()} {question}"
    return question
