"""Calibrate the abstention threshold (`retrieval.min_similarity`) on labelled questions.

    python bench/calibrate_abstention.py [QUESTIONS.jsonl] [--config teamkb.toml]

For each question it takes the best cosine similarity among the retrieved passages and
prints, per threshold, how many answerable questions would still be answered and how
many unanswerable ones would be refused. Run it on your own questions (the format of
`teamkb eval answers`) after indexing your docs.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import machine
from engine import build_engine
from teamkb.config import load_settings


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("questions", nargs="?", default="examples/handbook-questions.jsonl")
    ap.add_argument("--config", type=Path)
    ap.add_argument("--collection")
    args = ap.parse_args()
    engine = build_engine(load_settings(args.config), with_generator=False)
    rows = [json.loads(x) for x in Path(args.questions).read_text().splitlines() if x.strip()]
    scored = []
    for row in rows:
        hits = engine.search(row["question"], collection=args.collection)
        best = max((h.similarity for h in hits), default=0.0)
        scored.append((row["kind"] == "answerable", best, row["question"]))
    ans = sorted(s for a, s, _ in scored if a)
    una = sorted(s for a, s, _ in scored if not a)
    print(f"machine: {machine()}")
    print(f"answerable ({len(ans)}): min {ans[0]:.3f} median {ans[len(ans) // 2]:.3f}")
    print(f"unanswerable ({len(una)}): max {una[-1]:.3f} median {una[len(una) // 2]:.3f}")
    print(f"{'threshold':>9} {'answered':>9} {'refused':>8} {'balanced acc':>13}")
    best_t, best_acc = 0.0, -1.0
    for t in [x / 100 for x in range(15, 61, 5)]:
        answered = sum(s >= t for s in ans) / len(ans)
        refused = sum(s < t for s in una) / len(una) if una else 1.0
        acc = (answered + refused) / 2
        if acc > best_acc:
            best_t, best_acc = t, acc
        print(f"{t:9.2f} {answered:9.0%} {refused:8.0%} {acc:13.2f}")
    print(f"best threshold: {best_t:.2f} (balanced accuracy {best_acc:.2f})")
    for a, s, q in sorted(scored, key=lambda x: x[1]):
        print(f"  {s:.3f} {'A' if a else 'U'} {q}")


if __name__ == "__main__":
    main()
