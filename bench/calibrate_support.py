"""Chance level of the content checks (engine.verify.MIN_OVERLAP and MIN_NEW).

    python bench/calibrate_support.py [--config teamkb.toml] [--pairs 2000]

A sentence must share MIN_OVERLAP of its content words with the lines it cites. This
measures how much an *unrelated* sentence shares by chance: each sampled doc sentence is
scored against the best-matching sentence of a random passage from another file, and
the script prints the distribution and the share of such pairs each threshold would
let through. Check 9 (MIN_NEW) looks at a sentence's words beyond the question in the
whole cited passage, title and heading included: its chance level is the share of the
sampled sentence's content words found in that whole unrelated passage. No model is
needed.
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import machine
from engine import build_engine
from engine.evidence import passage_sentences
from engine.verify import MIN_NEW, MIN_OVERLAP, overlap
from knowledge.text import stems
from teamkb.config import load_settings


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", type=Path)
    ap.add_argument("--pairs", type=int, default=2000)
    args = ap.parse_args()
    chunks = build_engine(load_settings(args.config), with_generator=False).chunks()
    rng = random.Random(0)
    units = [(c.source, s.text) for c in chunks for s in passage_sentences(c.text)]
    claims = [(src, t) for src, t in units if len(stems(t)) >= 4]
    scores, whole = [], []
    for _ in range(args.pairs):
        src, claim = rng.choice(claims)
        other = rng.choice([c for c in rng.sample(chunks, 8) if c.source != src] or chunks)
        scores.append(max((overlap(claim, s.text) for s in passage_sentences(other.text)),
                          default=0.0))  # fmt: skip
        whole.append(overlap(claim, f"{other.title} {other.heading} {other.text}"))
    print(f"machine: {machine()}; {len(chunks)} chunks, {len(scores)} unrelated pairs")
    report("best sentence (MIN_OVERLAP)", scores, MIN_OVERLAP)
    report("whole passage (MIN_NEW)", whole, MIN_NEW)


def report(name: str, scores: list[float], chosen: float) -> None:
    scores = sorted(scores)
    q = lambda f: scores[min(len(scores) - 1, int(f * len(scores)))]  # noqa: E731
    print(f"\n{name}: chance share median {q(0.5):.2f}, p90 {q(0.9):.2f}, "
          f"p95 {q(0.95):.2f}, p99 {q(0.99):.2f}")  # fmt: skip
    print("| threshold | unrelated pairs passing |\n|---|---|")
    for t in (0.2, 0.3, 0.4, 0.5, 0.6):
        mark = " (chosen)" if abs(t - chosen) < 1e-9 else ""
        print(f"| {t:.1f}{mark} | {sum(s >= t for s in scores) / len(scores):.1%} |")


if __name__ == "__main__":
    main()
