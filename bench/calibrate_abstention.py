"""Calibrate abstention (`retrieval.min_confidence`) on labelled questions of one or more
corpora, each indexed under its own config.

    python bench/calibrate_abstention.py CONFIG.toml:QUESTIONS.jsonl[:RESULTS.json] [...]

For each question it computes the engine's own signals (engine.abstention): best passage
similarity, best evidence sentence relevance, coverage of the question's words, rare
terms found in no passage. It prints, per threshold on the confidence (relevance +
0.5 x coverage), how many questions would be answered, declined correctly (unanswerable)
and declined wrongly (answerable), over all corpora together and per corpus. The fixed
rules (another language, no content words, a missing rare term, min_similarity) apply
at every threshold. No model is needed.

With a `teamkb eval answers` results.json after a set, it also prints what showing the
evidence instead of the model's own decline ("No answer could be written…") would do,
per threshold: how many of those questions the quotes would then answer with the fact,
and how many they would answer without it (confidently wrong). It also prints what
declining the evidence answers ("The docs say: …", given when every sentence the model
wrote failed the checks) below a confidence would do: how many of them showed the fact
and how many were confidently wrong.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import NamedTuple

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import machine
from engine import build_engine
from engine.abstention import decline_reason, signals
from engine.engine import EVIDENCE_INTRO, MODEL_DECLINED_TEXT
from engine.evaluation.answers import fact_shown, load_questions
from engine.evidence import select_evidence
from teamkb.config import load_settings

THRESHOLDS = [x / 100 for x in range(40, 111, 5)]


class Scored(NamedTuple):
    answerable: bool
    confidence: float
    fixed: str  # the fixed rule that declines it, or ''
    question: str
    id: str
    quotes_hold: bool  # the evidence quotes hold every answer keyword


def score_corpus(config: Path, questions: Path) -> list[Scored]:
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
        quotes = " ".join(e.sentence.text for e in ev.top(r.quotes))
        holds = bool(fact_shown(quotes, q.answer_keywords))
        out.append(Scored(q.kind == "answerable", s.confidence, fixed, q.question, q.id, holds))
    return out


def table(rows: list[Scored], title: str) -> None:
    n_ans = sum(1 for r in rows if r.answerable)
    n_una = len(rows) - n_ans
    print(f"\n{title}: {n_ans} answerable, {n_una} unanswerable")
    print("| threshold | answered | declined correctly | declined wrongly |")
    print("|---|---|---|---|")
    for t in THRESHOLDS:
        declined = [bool(r.fixed) or r.confidence < t for r in rows]
        answered = sum(1 for d in declined if not d)
        right = sum(1 for r, d in zip(rows, declined, strict=True) if d and not r.answerable)
        wrong = sum(1 for r, d in zip(rows, declined, strict=True) if d and r.answerable)
        print(f"| {t:.2f} | {answered}/{len(rows)} | {right}/{n_una} | {wrong}/{n_ans} |")


def answered_with(rows: list[Scored], results: Path, opening: str) -> list[Scored]:
    """The questions the default (`rag`) config answered with a text that opens so."""
    outcomes = json.loads(results.read_text())["outcomes"]
    ids = {o["question_id"] for o in outcomes
           if o["config"] == "rag" and o["text"].startswith(opening)}  # fmt: skip
    return [r for r in rows if r.id in ids]


def override_table(declines: list[Scored]) -> None:
    print(f"\nShowing the evidence instead of the model's decline ({len(declines)} declines):")
    print("| confidence at least | evidence shown | with the fact | without it |")
    print("|---|---|---|---|")
    for t in THRESHOLDS:
        shown = [r for r in declines if r.confidence >= t]
        holds = sum(1 for r in shown if r.answerable and r.quotes_hold)
        print(f"| {t:.2f} | {len(shown)} | {holds} | {len(shown) - holds} |")


def fallback_table(fallbacks: list[Scored]) -> None:
    print(f"\nDeclining the evidence answers given when every model sentence failed the checks"
          f" ({len(fallbacks)} answers), below a confidence:")  # fmt: skip
    print("| confidence below | declined | their quotes held the fact | confidently wrong |")
    print("|---|---|---|---|")
    for t in THRESHOLDS:
        cut = [r for r in fallbacks if r.confidence < t]
        holds = sum(1 for r in cut if r.answerable and r.quotes_hold)
        print(f"| {t:.2f} | {len(cut)} | {holds} | {len(cut) - holds} |")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("sets", nargs="+", help="CONFIG.toml:QUESTIONS.jsonl")
    ap.add_argument("-v", "--verbose", action="store_true", help="print every question")
    args = ap.parse_args()
    print(f"machine: {machine()}")
    everything, declines, fallbacks = [], [], []
    for spec in args.sets:
        config, questions, *results = spec.split(":")
        rows = score_corpus(Path(config), Path(questions))
        everything += rows
        if results:
            declines += answered_with(rows, Path(results[0]), MODEL_DECLINED_TEXT)
            fallbacks += answered_with(rows, Path(results[0]), EVIDENCE_INTRO)
        table(rows, Path(questions).name)
        if args.verbose:
            for r in sorted(rows, key=lambda x: x.confidence):
                print(f"  {r.confidence:.3f} {'A' if r.answerable else 'U'} "
                      f"{r.fixed or '':14.14} {r.question[:90]}")  # fmt: skip
    table(everything, "all corpora")
    if declines:
        override_table(declines)
    if fallbacks:
        fallback_table(fallbacks)


if __name__ == "__main__":
    main()
