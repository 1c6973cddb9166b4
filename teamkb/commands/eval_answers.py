"""`teamkb eval answers` and `teamkb eval make-questions` (library: engine.evaluation)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from engine import Settings
from teamkb.render import dumps


def register_eval(esub: Any) -> None:
    a = esub.add_parser(
        "answers",
        help="answer quality per configuration (base, rag, adapter, hybrid, evidence)",
    )
    a.add_argument("--questions", type=Path, required=True, help="JSONL of questions")
    a.add_argument("--collection", default=None)
    a.add_argument(
        "--configs",
        default="base,rag,adapter,hybrid",
        help="comma-separated subset of base,rag,adapter,hybrid,evidence (evidence: the "
        "selected doc sentences alone, no model)",
    )
    a.add_argument("--adapter", default="", help="GGUF LoRA to test (default: the one in service)")
    a.add_argument("--report", type=Path, default=None, help="folder for report.md/.html/PNGs")
    a.add_argument("--json", action="store_true")
    a.set_defaults(func=run_answers)
    m = esub.add_parser("make-questions", help="write a questions file from the docs + feedback")
    m.add_argument("--out", type=Path, required=True)
    m.add_argument("--collection", default=None)
    m.add_argument("--limit", type=int, default=0, help="at most this many doc questions")
    m.set_defaults(func=run_make_questions)


def run_answers(args: argparse.Namespace, settings: Settings) -> int:
    from engine.evaluation import build_configs, evaluate, load_questions, result

    questions = load_questions(args.questions)
    names = [n.strip() for n in args.configs.split(",") if n.strip()]
    configs, notes = build_configs(settings, names, adapter=args.adapter)
    outcomes = evaluate(
        settings,
        questions,
        configs,
        collection=args.collection,
        progress=lambda msg: print(msg, file=sys.stderr) if args.verbose else None,
    )
    res = result(outcomes, notes)
    if args.report:
        from engine.evaluation import write_report

        path = write_report(res, args.report)
        print(f"report: {path}", file=sys.stderr)
    if args.json:
        data = res.to_json()
        data.pop("outcomes")
        print(dumps(data))
        return 0
    from engine.evaluation import COLUMNS, table_rows

    widths = [max(len(label), 7) for _, label in COLUMNS]
    print("  ".join(label.rjust(w) for (_, label), w in zip(COLUMNS, widths, strict=True)))
    for row in table_rows(res.summaries):
        print("  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)))
    for n in res.notes:
        print(n)
    print(res.recommendation)
    return 0


def run_make_questions(args: argparse.Namespace, settings: Settings) -> int:
    from engine.evaluation import make_questions, write_questions

    questions = make_questions(settings, args.collection, limit=args.limit)
    write_questions(args.out, questions)
    n_un = sum(1 for q in questions if q.kind == "unanswerable")
    print(f"wrote {len(questions)} questions ({n_un} unanswerable) to {args.out}")
    return 0
