"""Fact recall at depth, and what filling the gap between two top-3 chunks would add.

    python bench/between_chunks.py QUESTIONS.jsonl [--depth 20] [--gap 1]

Run from a folder whose teamkb.toml indexes the questions' corpus. Prints fact
recall@k for k up to `--depth` (the ceiling of any re-ranker reading that deep), and
fact recall@3 when the chunks lying between two of the top 3 from one file (at most
`--gap` of them) are given to the model too: the issue's HEALTHCHECK question ranks
the chunk with `--interval=DURATION (default: 30s)` sixth, between the first two.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import machine
from engine import build_engine
from engine.evaluation import load_questions
from engine.evaluation.answers import keyword_recall
from teamkb.config import load_settings


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("questions", type=Path)
    ap.add_argument("--depth", type=int, default=20)
    ap.add_argument("--gap", type=int, default=1)
    args = ap.parse_args()
    engine = build_engine(load_settings(), with_generator=False)
    rows = engine.store.collection(engine.collection_name(None)).rows(
        ["source", "line_start", "text"]
    )
    by_source: dict[str, list[tuple[int, str]]] = {}
    for r in rows.to_pylist():
        by_source.setdefault(r["source"], []).append((r["line_start"], r["text"]))
    for chunks in by_source.values():
        chunks.sort()
    qs = [q for q in load_questions(args.questions) if q.kind == "answerable"]
    at_k = [0] * (args.depth + 1)
    base = filled = with_gap = 0
    for q in qs:
        ps = engine.search(q.question, k=args.depth)
        for k in range(1, args.depth + 1):
            at_k[k] += keyword_recall("\n".join(p.text for p in ps[:k]), q.answer_keywords) == 1
        top = ps[:3]
        between = []
        for a in top:
            for b in top:
                starts = [s for s, _ in by_source.get(a.source, [])]
                if a.source != b.source or a.lines[0] not in starts or b.lines[0] not in starts:
                    continue
                i, j = starts.index(a.lines[0]), starts.index(b.lines[0])
                if 0 < j - i - 1 <= args.gap:
                    between += [by_source[a.source][n][1] for n in range(i + 1, j)]
        text = "\n".join(p.text for p in top)
        base += keyword_recall(text, q.answer_keywords) == 1
        filled += keyword_recall("\n".join([text, *between]), q.answer_keywords) == 1
        with_gap += bool(between)
    n = len(qs)
    print(f"machine: {machine()}; {args.questions.name}: {n} answerable questions")
    print("fact recall@k: " + ", ".join(f"@{k} {at_k[k] / n:.3f}" for k in (1, 3, 5, 10, 20)
                                        if k <= args.depth))  # fmt: skip
    print(
        f"fact recall@3 {base / n:.3f}; with the chunks between two top-3 chunks of one "
        f"file (gap ≤ {args.gap}) {filled / n:.3f}; {with_gap} questions had such a gap"
    )


if __name__ == "__main__":
    main()
