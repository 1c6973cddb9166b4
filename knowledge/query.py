"""The full-text leg's query: words only, conversational filler dropped.

People ask the way they talk in Slack ("how do I …", "our staging", "is there a way
to …"). The full-text index already drops the classic English stop words ("the", "of"),
but not question words and pronouns, which then match every page that talks to its
reader and push exact terms (config keys, flags) down. The vector leg keeps the whole
question: the embedding model reads phrasing, BM25 only counts words.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from typing import Literal

from knowledge.text import FILLER, words

# How the full-text index splits text into words (LanceDB's base tokenizer):
# - "simple": runs of letters and digits. A run of Chinese or Japanese, which has no
#   spaces, is one token, so a full-text query matches only that exact run.
# - "icu/split": Unicode (ICU) word boundaries, which segment CJK text into words, then
#   split at punctuation as "simple" does (`pull.rebase` → pull, rebase).
# docs/decisions/fts-tokenizer.md has both measured on English sets.
FtsTokenizer = Literal["simple", "icu/split"]

# A query that long is a pasted document; BM25 over thousands of terms is slow and
# means nothing, so only its first words are searched.
MAX_TERMS = 64


def fts_query(text: str, *, drop_filler: bool = True) -> str:
    """The words of `text` to full-text search, or "" when none are left (then the
    full-text leg has nothing to find and is skipped)."""
    kept = [w for w in words(text) if not (drop_filler and w.lower() in FILLER)]
    return " ".join(kept[:MAX_TERMS])


def has_content(text: str) -> bool:
    """Whether `text` has a word that is not filler or a stop word: a query without
    one ("how do I do it?") is about nothing, and every passage would match it."""
    return bool(fts_query(text))


def expansion_terms(
    texts: Sequence[str], weights: Sequence[float], query: str, *, terms: int = 10
) -> list[str]:
    """RM3-style feedback terms: each top document's term distribution, weighted by its
    retrieval score, summed; the query's own words and filler left out."""
    seen = {w.lower() for w in words(query)}
    total: defaultdict[str, float] = defaultdict(float)
    for text, weight in zip(texts, weights, strict=True):
        counts = Counter(_candidates(words(text.lower()), seen))
        n = sum(counts.values()) or 1
        for term, c in counts.items():
            total[term] += weight * c / n
    return sorted(total, key=lambda t: -total[t])[:terms]


def _candidates(tokens: Iterable[str], skip: set[str]) -> Iterable[str]:
    for t in tokens:
        if len(t) > 2 and not t.isdigit() and t not in FILLER and t not in skip:
            yield t
