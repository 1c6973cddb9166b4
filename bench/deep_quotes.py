"""Evidence quotes from passages below the three the model reads: do they show more facts?

    python bench/deep_quotes.py CONFIG:QUESTIONS:COLLECTION ...

The fact is in the top 3 passages for 0.690 of git-doc's questions and in the top 10 for
0.786 (README, "Retrieval quality"), and quotes are sentences, not passages: so a quote
could come from a lower passage. For each answerable question this counts, with nothing
declined, whether the quotes hold every answer keyword (the `fact shown` rule of
`teamkb eval answers`) for:

- `4 of top 3`: today's four quotes from the three passages the model reads;
- `5 of top 3`: a fifth quote from the same three (the reading-length yardstick);
- `4 + N of D`: today's four plus the best N quotes of passages 4 to D;
- `N ranked over D`: N quotes ranked over the top D passages at once (the rank penalty
  of `engine.evidence` still favours higher passages).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import machine
from engine.evaluation import load_questions
from engine.evaluation.answers import fact_shown
from engine.evidence import select_evidence
from engine.factory import build_engine
from teamkb.config import load_settings


def variants(engine, question: str, collection: str) -> dict[str, list[str]]:
    ps = engine.search(question, collection=collection, k=10)
    top3 = select_evidence(question, ps[:3], engine.embedder, pool=ps[:6])
    four = [e.sentence.text for e in top3.top(4)]
    out = {"4 of top 3": four, "5 of top 3": [e.sentence.text for e in top3.top(5)]}
    for depth in (6, 10):
        lower = select_evidence(question, ps[3:depth], engine.embedder)
        for extra in (1, 2):
            out[f"4 + {extra} of 4-{depth}"] = four + [e.sentence.text for e in lower.top(extra)]
        ranked = select_evidence(question, ps[:depth], engine.embedder)
        for n in (4, 5):
            out[f"{n} ranked over {depth}"] = [e.sentence.text for e in ranked.top(n)]
    return out


def main() -> None:
    print(f"machine: {machine()}; facts shown by the quotes alone, nothing declined")
    totals: dict[str, int] = {}
    answerable = 0
    for spec in sys.argv[1:]:
        cfg, qfile, collection = spec.split(":")
        engine = build_engine(load_settings(Path(cfg)), with_generator=False)
        counts: dict[str, int] = {}
        n = 0
        for q in load_questions(Path(qfile)):
            if q.kind != "answerable":
                continue
            n += 1
            for name, quotes in variants(engine, q.question, collection).items():
                shown = bool(fact_shown("\n".join(quotes), q.answer_keywords))
                counts[name] = counts.get(name, 0) + shown
        answerable += n
        for name, c in counts.items():
            totals[name] = totals.get(name, 0) + c
        print(f"{collection} ({n} answerable): " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    print(f"all ({answerable}): " + ", ".join(f"{k} {v}" for k, v in totals.items()))


if __name__ == "__main__":
    main()
