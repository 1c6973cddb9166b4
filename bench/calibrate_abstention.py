"""Calibrate abstention (`retrieval.min_confidence`) on labelled questions of one or more
corpora, each indexed under its own config.

    python bench/calibrate_abstention.py CONFIG.toml:QUESTIONS.jsonl [...]

For each question it computes the engine's own signals (engine.abstention): best passage
similarity, best evidence sentence relevance, coverage of the question's words, rare
terms found in no passage. It prints, per threshold on the confidence (relevance +
0.5 x coverage), how many questions would be answered, declined correctly (unanswerable)
and declined wrongly (answerable), over all corpora together and per corpus. The fixed
rules (another language, no content words, a missing rare term, min_similarity) apply
at every threshold. No model is needed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import machine
from engine import build_engine
from engine.abstention import decline_reason, signals
from engine.evaluation.answers import load_questions
from engine.evidence import select_evidence
from teamkb.config import load_settings

THRESHOLDS = [x / 100 for x in range(40, 111, 5)]


def score_corpus(config: Path, questions: Path) -> list[tuple[bool, float, str, str]]:
    """(answerable, confidence, fixed-rule reason or '', question) per question."""
    engine = build_engine(load_settings(config), with_generator=False)
    r = engine.settings.retrieval
    out = []
    for q in load_questions(questions):
        hits = engine.search(q.question)
        best = max((h.similarity for h in hits), default=0.0)
        ev = select_evidence(q.question, hits[: r.prompt_passages], engine.embedder, pool=hits)
        s = signals(best, ev)
        fixed = decline_reason(q.question, s, min_confidence=-1.0)
        if not fixed and best < r.min_similarity:
            fixed = "min_similarity"
        out.append((q.kind == "answerable", s.confidence, fixed, q.question))
    return out


def table(rows: list[tuple[bool, float, str, str]], title: str) -> None:
    n_ans = sum(1 for a, *_ in rows if a)
    n_una = len(rows) - n_ans
    print(f"\n{title}: {n_ans} answerable, {n_una} unanswerable")
    print("| threshold | answered | declined correctly | declined wrongly |")
    print("|---|---|---|---|")
    for t in THRESHOLDS:
        declined = [bool(fixed) or conf < t for _, conf, fixed, _ in rows]
        answered = sum(1 for d in declined if not d)
        right = sum(1 for (a, *_), d in zip(rows, declined, strict=True) if d and not a)
        wrong = sum(1 for (a, *_), d in zip(rows, declined, strict=True) if d and a)
        print(f"| {t:.2f} | {answered}/{len(rows)} | {right}/{n_una} | {wrong}/{n_ans} |")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("sets", nargs="+", help="CONFIG.toml:QUESTIONS.jsonl")
    ap.add_argument("-v", "--verbose", action="store_true", help="print every question")
    args = ap.parse_args()
    print(f"machine: {machine()}")
    everything = []
    for spec in args.sets:
        config, questions = spec.split(":", 1)
        rows = score_corpus(Path(config), Path(questions))
        everything += rows
        table(rows, Path(questions).name)
        if args.verbose:
            for a, conf, fixed, q in sorted(rows, key=lambda x: x[1]):
                print(f"  {conf:.3f} {'A' if a else 'U'} {fixed or '':14.14} {q[:90]}")
    table(everything, "all corpora")


if __name__ == "__main__":
    main()
