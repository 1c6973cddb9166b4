"""Retrieval quality per mode (hybrid, vector, full text): the BEIR subsamples in
../shared/bench/beir (nDCG@10, Recall@10, Recall@100) and the example handbook's own
questions (Recall@5 and MRR@5 of the gold source files).

    python bench/retrieval_quality.py [--beir-root ../shared/bench/beir]

Run `teamkb index` first (the handbook part searches the configured index).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import machine
from engine import build_engine
from knowledge.embedding import SentenceTransformerEmbedder
from knowledge.evaluation import evaluate_beir
from knowledge.store import SearchMode
from teamkb.config import load_settings

MODES: tuple[SearchMode, ...] = ("hybrid", "vector", "fts")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--beir-root", type=Path, default=Path("../shared/bench/beir"))
    args = ap.parse_args()
    settings = load_settings()
    r = settings.retrieval
    embedder = SentenceTransformerEmbedder()
    print(f"machine: {machine()}")
    print(f"fusion: {r.fusion} K={r.fusion_k}, full-text weight {r.fts_weight}, "
          f"near-copy collapse {r.collapse_threshold}\n")  # fmt: skip
    print(f"{'set':18} {'mode':7} {'nDCG@10':>8} {'R@10':>7} {'R@100':>7} {'queries':>8}")
    for folder in sorted(p for p in args.beir_root.iterdir() if p.is_dir()):
        scores = evaluate_beir(
            folder, embedder=embedder, scratch=settings.home / "eval", modes=MODES,
            fusion=r.fusion_config(), collapse_threshold=r.collapse_threshold,
            drop_filler=r.drop_filler,
        )  # fmt: skip
        for s in scores:
            print(
                f"{folder.name:18} {s.mode:7} {s.ndcg_at_10:8.4f} {s.recall_at_10:7.4f} "
                f"{s.recall_at_100:7.4f} {s.queries:8d}"
            )
    engine = build_engine(settings, embedder=embedder, with_generator=False)
    lines = Path("examples/handbook-questions.jsonl").read_text().splitlines()
    rows = [json.loads(x) for x in lines if x.strip()]
    answerable = [x for x in rows if x["kind"] == "answerable"]
    print(f"\nexample handbook, {len(answerable)} answerable questions (gold = source files)")
    print(f"{'mode':7} {'Recall@5':>9} {'MRR@5':>7}")
    for mode in MODES:
        recall = mrr = 0.0
        for x in answerable:
            sources = [p.source for p in engine.search(x["question"], k=5, mode=mode)]
            gold = set(x["gold"])
            recall += len(gold & set(sources)) / len(gold)
            rank = next((i for i, s in enumerate(sources, 1) if s in gold), None)
            mrr += 1 / rank if rank else 0.0
        n = len(answerable)
        print(f"{mode:7} {recall / n:9.3f} {mrr / n:7.3f}")


if __name__ == "__main__":
    main()
