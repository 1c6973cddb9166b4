"""`teamkb eval retrieval --beir DIR`; `eval answers` and `make-questions` come from
`teamkb.commands.eval_answers`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from engine.settings import Settings
from teamkb.commands.eval_answers import register_eval
from teamkb.render import dumps


def register(sub: Any) -> None:
    p = sub.add_parser("eval", help="measure retrieval and answer quality")
    esub = p.add_subparsers(dest="eval_command", metavar="WHAT", required=True)
    r = esub.add_parser("retrieval", help="nDCG@10 / Recall@10 / Recall@100 on a BEIR folder")
    r.add_argument("--beir", type=Path, required=True, help="folder with corpus.jsonl etc.")
    r.add_argument(
        "--mode", default="hybrid",
        help="hybrid, vector, fts, or a comma-separated list (e.g. hybrid,vector,fts)",
    )  # fmt: skip
    r.add_argument("--json", action="store_true")
    r.set_defaults(func=run_retrieval)
    register_eval(esub)  # answers, make-questions


def run_retrieval(args: argparse.Namespace, settings: Settings) -> int:
    from knowledge.embedding import SentenceTransformerEmbedder
    from knowledge.evaluation import evaluate_beir

    modes = [m.strip() for m in args.mode.split(",") if m.strip()]
    bad = [m for m in modes if m not in {"hybrid", "vector", "fts"}]
    if bad:
        print(f"teamkb: unknown mode(s) {', '.join(bad)}: use hybrid, vector, fts", file=sys.stderr)
        return 2
    results = evaluate_beir(
        args.beir,
        embedder=SentenceTransformerEmbedder(),
        scratch=settings.home / "eval",
        modes=modes,
        progress=lambda msg: print(msg, file=sys.stderr),
        fusion_k=settings.retrieval.fusion_k,
        fts_weight=settings.retrieval.fts_weight,
        candidates=settings.retrieval.candidates,
    )
    if args.json:
        out = [r.to_json() for r in results]
        print(dumps(out[0] if len(out) == 1 else out))
        return 0
    print(f"{'mode':8} {'nDCG@10':>8} {'R@10':>7} {'R@100':>7} {'queries':>8} {'p50 ms':>7}")
    for r in results:
        print(
            f"{r.mode:8} {r.ndcg_at_10:8.4f} {r.recall_at_10:7.4f} {r.recall_at_100:7.4f} "
            f"{r.queries:8d} {r.median_latency_ms:7.1f}"
        )
    return 0
