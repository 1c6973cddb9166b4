"""Which pre-generation signal best tells a question the quotes will answer from one they
will not: measured for docs/answers.md#abstention ("Other signals to threshold"), and
the default kept.

    python bench/abstention_signals.py CONFIG.toml:QUESTIONS.jsonl[:COLLECTION] [...]

For every question: the engine's retrieval and evidence (no model), then whether its
quotes show the fact ("good": answerable, every answer keyword in the quotes).
Prints each signal's ROC AUC for "good" per set and over all, then, per signal, the
threshold that maximises the retraining gate's score (fact shown, unanswerable declined,
answerable not declined, 3 x not confidently wrong) over all sets, and the same with the
threshold chosen on the other sets only (leave one set out). Questions declined by the
fixed rules (a missing name, another language) stay declined at every threshold.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import roc_auc_score

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import machine
from engine import build_engine
from engine.abstention import decline_reason, signals
from engine.evaluation import load_questions
from engine.evaluation.answers import Summary, fact_shown
from engine.evidence import select_evidence
from teamkb.config import load_settings

Row = dict[str, Any]
SIGNALS: dict[str, Callable[[Row], float]] = {
    "confidence (relevance + 0.5 x coverage, default)": lambda r: r["rel"] + 0.5 * r["cov"],
    "best sentence relevance": lambda r: r["rel"],
    "best sentence score (relevance + exact-match bonuses)": lambda r: r["score"],
    "best sentence score + 0.5 x coverage": lambda r: r["score"] + 0.5 * r["cov"],
    "best passage similarity": lambda r: r["sim"],
}
THRESHOLDS = np.arange(0.2, 1.6, 0.01)


def score_set(spec: str) -> list[Row]:
    config, questions, *name = spec.split(":")
    engine = build_engine(load_settings(Path(config)), with_generator=False)
    collection = name[0] if name else None
    rows = []
    for q in load_questions(Path(questions)):
        ps = engine.search(q.question, collection=collection)
        ev = select_evidence(q.question, ps[:3], engine.embedder, pool=ps)
        quotes = "\n".join(e.sentence.text for e in ev.top(engine.settings.retrieval.quotes))
        best = max((p.similarity for p in ps), default=0.0)
        answerable = q.kind == "answerable"
        rows.append({
            "set": Path(questions).stem, "answerable": answerable,
            "good": answerable and bool(fact_shown(quotes, q.answer_keywords)),
            "fixed": bool(decline_reason(q.question, signals(best, ev), min_confidence=-1.0)),
            "rel": ev.relevance, "cov": ev.coverage, "sim": best,
            "score": ev.candidates[0].score if ev.candidates else 0.0,
        })  # fmt: skip
    return rows


def tally(rows: list[Row], signal: Callable[[Row], float], t: float) -> dict[str, int]:
    c = {"fact": 0, "wrong": 0, "declined_wrongly": 0, "declined_correctly": 0}
    for r in rows:
        declined = r["fixed"] or signal(r) < t
        if declined:
            c["declined_wrongly" if r["answerable"] else "declined_correctly"] += 1
        else:
            c["fact" if r["good"] else "wrong"] += 1
    return c


def gate(rows: list[Row], c: dict[str, int]) -> float:
    """The retraining gate's own score (`Summary.score`) of these counts."""
    answerable = sum(r["answerable"] for r in rows)
    unanswerable = len(rows) - answerable
    return Summary(
        config="", questions=len(rows), recall_at_5=None, keyword_recall=None,
        citation_precision=None, citation_validity=None,
        abstention_accuracy=c["declined_correctly"] / unanswerable if unanswerable else None,
        false_abstention=c["declined_wrongly"] / answerable, latency_p50_s=0.0,
        latency_p95_s=0.0, tokens_per_answer=0.0, fact_shown=c["fact"] / answerable,
        confidently_wrong=c["wrong"] / len(rows),
    ).score  # fmt: skip


def best_threshold(rows: list[Row], signal: Callable[[Row], float]) -> float:
    return float(max(THRESHOLDS, key=lambda t: gate(rows, tally(rows, signal, t))))


def main() -> None:
    rows = [r for spec in sys.argv[1:] for r in score_set(spec)]
    sets = list(dict.fromkeys(r["set"] for r in rows))
    print(f"{machine()}; {len(rows)} questions, sets: {', '.join(sets)}")
    free = [r for r in rows if not r["fixed"]]
    for name, signal in SIGNALS.items():
        aucs = []
        for s in [*sets, None]:
            part = [r for r in free if s is None or r["set"] == s]
            labels = [r["good"] for r in part]
            ok = 0 < sum(labels) < len(labels)
            aucs.append(f"{roc_auc_score(labels, [signal(r) for r in part]):.3f}" if ok else "–")
        t = best_threshold(rows, signal)
        c = tally(rows, signal, t)
        loso = {k: 0 for k in c}
        for s in sets:
            held = [r for r in rows if r["set"] == s]
            t_s = best_threshold([r for r in rows if r["set"] != s], signal)
            for k, v in tally(held, signal, t_s).items():
                loso[k] += v
        print(f"\n{name}\n  AUC per set ({', '.join(sets)}, all): {' / '.join(aucs)}")
        print(f"  best threshold over all sets {t:.2f}: {c}, gate {gate(rows, c):.3f}")
        print(f"  threshold from the other sets (leave one set out): {loso}, "
              f"gate {gate(rows, loso):.3f}")  # fmt: skip


if __name__ == "__main__":
    main()
