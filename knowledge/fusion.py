"""Hybrid fusion of the vector and full-text candidate lists, done in place.

Two methods, one knob (`fts_weight`: how much the full-text list counts against the
vector list's 1.0):
- `rrf`, weighted reciprocal rank fusion: sum of weight / (k + rank). Only ranks count,
  so a leg's score scale never matters.
- `convex`: each list's scores min-max normalised to [0, 1], then vector + weight × fts
  (the convex combination alpha·v + (1−alpha)·f with alpha = 1 / (1 + weight)). Keeps
  how far ahead the best hit is, which ranks throw away.

docs/decisions/fusion-defaults.md says which measured better, and why the default is
what it is. Fusing here rather than in a LanceDB reranker lets both legs run at once
and read only the columns a passage needs.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Literal, TypeVar

H = TypeVar("H", bound=Hashable)
FusionMethod = Literal["rrf", "convex"]


@dataclass(frozen=True)
class Fusion:
    method: FusionMethod = "rrf"
    k: int = 10  # RRF rank constant
    fts_weight: float = 0.5
    candidates: int = 20  # fused from each list (at least k)
    # The full-text leg's best hit is kept within the top this many (0: off).
    fts_best_within: int = 0


DEFAULT_FUSION = Fusion()


def rrf_scores(rankings: Sequence[Sequence[H]], weights: Sequence[float], k: int) -> dict[H, float]:
    """Weighted reciprocal rank fusion: sum of weight / (k + rank) over the rankings."""
    scores: defaultdict[H, float] = defaultdict(float)
    for ranking, weight in zip(rankings, weights, strict=True):
        for rank, item in enumerate(ranking, start=1):
            scores[item] += weight / (k + rank)
    return dict(scores)


def minmax(scores: Sequence[float]) -> list[float]:
    """Scores rescaled to [0, 1]; a list of equal scores is all 1 (all equally best)."""
    if not scores:
        return []
    lo, hi = min(scores), max(scores)
    if hi <= lo:
        return [1.0] * len(scores)
    return [(s - lo) / (hi - lo) for s in scores]


def convex_scores(
    lists: Sequence[Sequence[tuple[H, float]]], weights: Sequence[float]
) -> dict[H, float]:
    """Sum of weight × min-max-normalised score; an item missing from a list gets 0 there."""
    scores: defaultdict[H, float] = defaultdict(float)
    for hits, weight in zip(lists, weights, strict=True):
        for (item, _), norm in zip(hits, minmax([s for _, s in hits]), strict=True):
            scores[item] += weight * norm
    return dict(scores)


def fuse(
    vector: Sequence[tuple[H, float]], fts: Sequence[tuple[H, float]], fusion: Fusion
) -> list[tuple[H, float]]:
    """Items of both (item, score) lists, best first. Ties keep first-seen order (vector
    list first), so results are deterministic."""
    weights = (1.0, fusion.fts_weight)
    if fusion.method == "convex":
        scores = convex_scores([vector, fts], weights)
    else:
        scores = rrf_scores([[i for i, _ in vector], [i for i, _ in fts]], weights, fusion.k)
    order = {item: n for n, item in enumerate(scores)}  # dicts keep insertion order
    fused = sorted(scores.items(), key=lambda kv: (-kv[1], order[kv[0]]))
    if fts and fusion.fts_best_within > 0:
        return keep_within(fused, fts[0][0], fusion.fts_best_within)
    return fused


def keep_within(fused: list[tuple[H, float]], item: H, within: int) -> list[tuple[H, float]]:
    """`item` moved up into the last of the first `within` places if it ranks below them;
    scores stay where they were, so the list is still ordered by score. Fusion rewards
    agreement, and with the full-text leg weighted under the vectors, the passage that
    alone holds an exact option name can sink below passages both legs rank middling."""
    items = [i for i, _ in fused]
    if item not in items or items.index(item) < within:
        return fused
    items.remove(item)
    items.insert(within - 1, item)
    return list(zip(items, (s for _, s in fused), strict=True))
