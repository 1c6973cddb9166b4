"""Re-ranking passages by their best evidence sentence: measured, not kept.

    python bench/sentence_rerank.py QUESTIONS.jsonl [--depth 6,10] [--k 1,3,10]

Run from a folder whose teamkb.toml indexes the questions' corpus. The engine's quote
scorer (`engine.evidence.select_evidence`: a sentence's cosine with the question plus
its exact-match bonuses, without the retrieval-rank penalty) scores every sentence of
the hybrid top `--depth`; each passage takes its best sentence's score. Prints fact
recall@3 (every answer keyword in the top 3 passages) for the hybrid order, the order
by best sentence alone, and the two fused (RRF with each `--k`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import machine
from engine import build_engine
from engine.evaluation import load_questions
from engine.evaluation.answers import fact_shown
from engine.evidence import RANK_PENALTY, select_evidence
from engine.types import Passage
from knowledge.embedding import Embedder
from teamkb.config import load_settings


def orders(
    question: str, passages: list[Passage], embedder: Embedder, ks: list[int]
) -> dict[str, list[int]]:
    """Each candidate order of the passages' indexes, by name."""
    ev = select_evidence(question, passages, embedder, pool=passages)
    best: dict[int, float] = {}
    for e in ev.candidates:  # the retrieval-rank penalty taken back out of each score
        score = e.score + RANK_PENALTY * e.passage
        best[e.passage] = max(best.get(e.passage, float("-inf")), score)
    hybrid = list(range(len(passages)))
    by_sentence = sorted(hybrid, key=lambda i: -best.get(i, float("-inf")))
    out = {"hybrid": hybrid, "best sentence": by_sentence}
    for k in ks:
        fused = {i: 1 / (k + i + 1) for i in hybrid}
        for r, i in enumerate(by_sentence):
            fused[i] += 1 / (k + r + 1)
        out[f"RRF K={k}"] = sorted(hybrid, key=lambda i: -fused[i])
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("questions", type=Path)
    ap.add_argument("--depth", default="6,10")
    ap.add_argument("--k", default="1,3,10")
    args = ap.parse_args()
    ks = [int(k) for k in args.k.split(",")]
    engine = build_engine(load_settings(), with_generator=False)
    answerable = [q for q in load_questions(args.questions) if q.kind == "answerable"]
    print(f"{machine()}; {args.questions.name}: {len(answerable)} answerable questions")
    for depth in (int(d) for d in args.depth.split(",")):
        found: dict[str, int] = {}
        for q in answerable:
            ps = engine.search(q.question, k=depth)
            for name, order in orders(q.question, ps, engine.embedder, ks).items():
                top = "\n".join(ps[i].text for i in order[:3])
                found[name] = found.get(name, 0) + bool(fact_shown(top, q.answer_keywords))
        cells = ", ".join(f"{n} {c}/{len(answerable)}" for n, c in found.items())
        print(f"top {depth} re-ranked, fact recall@3: {cells}")


if __name__ == "__main__":
    main()
