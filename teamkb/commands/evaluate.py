"""`teamkb eval retrieval --beir DIR | --questions FILE`; `eval answers` and
`make-questions` come from `teamkb.commands.eval_answers`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from engine import Settings
from teamkb.commands.eval_answers import register_eval
from teamkb.render import dumps

_MODES = {"hybrid", "vector", "fts"}


def register(sub: Any) -> None:
    p = sub.add_parser("eval", help="measure retrieval and answer quality")
    esub = p.add_subparsers(dest="eval_command", metavar="WHAT", required=True)
    r = esub.add_parser(
        "retrieval",
        help="nDCG@10 / Recall@10 / Recall@100 on a BEIR folder, or file recall@5 and "
        "fact recall@3 on a questions file",
    )
    what = r.add_mutually_exclusive_group(required=True)
    what.add_argument("--beir", type=Path, help="folder with corpus.jsonl etc.")
    what.add_argument(
        "--questions", type=Path, action="append",
        help="questions file (`eval answers` format), searched in --collection; repeatable",
    )  # fmt: skip
    r.add_argument("--collection", help="collection the questions are asked of")
    r.add_argument(
        "--mode", default="hybrid",
        help="hybrid, vector, fts, or a comma-separated list (e.g. hybrid,vector,fts)",
    )  # fmt: skip
    r.add_argument("--json", action="store_true")
    r.set_defaults(func=run_retrieval)
    register_eval(esub)  # answers, make-questions


def run_retrieval(args: argparse.Namespace, settings: Settings) -> int:
    modes = [m.strip() for m in args.mode.split(",") if m.strip()]
    bad = [m for m in modes if m not in _MODES]
    if bad:
        print(f"teamkb: unknown mode(s) {', '.join(bad)}: use hybrid, vector, fts", file=sys.stderr)
        return 2
    r = settings.retrieval
    if r.reranker:  # the figures are the re-ranker's: say so beside them
        print(f"re-ranking the best {r.rerank_depth} with {Path(r.reranker).name}",
              file=sys.stderr)  # fmt: skip
    if args.questions:
        return _run_questions(args, settings, modes)
    return _run_beir(args, settings, modes)


def _run_beir(args: argparse.Namespace, settings: Settings, modes: list[str]) -> int:
    from engine.evaluation import evaluate_beir_set

    results = evaluate_beir_set(
        settings,
        args.beir,
        modes,  # type: ignore[arg-type]
        progress=lambda msg: print(msg, file=sys.stderr),
    )
    if args.json:
        out = [r.to_json() for r in results]
        print(dumps(out[0] if len(out) == 1 else out))
        return 0
    print(f"{'mode':8} {'nDCG@10':>8} {'R@10':>7} {'R@100':>7} {'queries':>8} {'p50 ms':>7}")
    for s in results:
        print(
            f"{s.mode:8} {s.ndcg_at_10:8.4f} {s.recall_at_10:7.4f} {s.recall_at_100:7.4f} "
            f"{s.queries:8d} {s.median_latency_ms:7.1f}"
        )
    return 0


def _run_questions(args: argparse.Namespace, settings: Settings, modes: list[str]) -> int:
    from engine import build_engine
    from engine.evaluation import evaluate_questions, load_questions, test_set_name

    engine = build_engine(settings, with_generator=False)
    results = []
    for path in args.questions:
        questions = load_questions(path)
        for mode in modes:
            name = test_set_name(path)
            scores = evaluate_questions(
                engine, questions, test_set=name, collection=args.collection, mode=mode
            )
            results.append(scores)
    if args.json:
        out = [s.to_json() for s in results]
        print(dumps(out[0] if len(out) == 1 else out))
        return 0
    print(f"{'test set':18} {'mode':7} {'file R@5':>9} {'fact R@3':>9} {'questions':>9} "
          f"{'p50 ms':>7}")  # fmt: skip
    for s in results:
        print(
            f"{s.test_set:18} {s.mode:7} {s.file_recall_at_5:9.3f} {s.fact_recall_at_3:9.3f} "
            f"{s.questions:9d} {s.median_latency_ms:7.1f}"
        )
    return 0
