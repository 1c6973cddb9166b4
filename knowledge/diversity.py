"""Near-duplicate collapse: three copies of the same text never fill the top 3.

Real docs folders keep versioned copies (docker-doc's `api/v1.18.md` … `v1.24.md`), and
each copy of a passage matches a query equally well, so they arrive together and push
every other passage out of the prompt. A passage whose word 3-grams overlap an
already-kept passage's by `threshold` (Jaccard) or more is dropped; the first copy, the
best ranked, stays.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")
DEFAULT_THRESHOLD = 0.8
_WORD = re.compile(r"\w+")


def shingles(text: str, n: int = 3) -> frozenset[tuple[str, ...]]:
    words = _WORD.findall(text.lower())
    if len(words) < n:
        return frozenset([tuple(words)])
    return frozenset(tuple(words[i : i + n]) for i in range(len(words) - n + 1))


def jaccard(a: frozenset[tuple[str, ...]], b: frozenset[tuple[str, ...]]) -> float:
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


def collapse(
    ranked: Sequence[T],
    text: Callable[[T], str],
    *,
    limit: int,
    threshold: float = DEFAULT_THRESHOLD,
) -> list[T]:
    """The first `limit` items of `ranked` that are not near-copies of a better one."""
    kept: list[T] = []
    seen: list[frozenset[tuple[str, ...]]] = []
    for item in ranked:
        s = shingles(text(item))
        if any(jaccard(s, t) >= threshold for t in seen):
            continue
        kept.append(item)
        seen.append(s)
        if len(kept) >= limit:
            break
    return kept
