"""Query latency p50/p95 of hybrid, vector and full text side by side, at 1k, 10k and
100k chunks, query embedding included.

    python bench/query_latency.py [--sizes 1000,10000,100000] [--queries 60]

The large sets are synthesized from the real handbook: every chunk is repeated with its
service names and numbers varied and its vector nudged (so rows are distinct but
realistic). Each query is embedded afresh (the query cache is cleared), then searched
through `Engine.search`, exactly as `teamkb search` does.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import machine, pct
from engine import Engine, build_engine
from engine.settings import RetrievalSettings, Settings
from knowledge.embedding import SentenceTransformerEmbedder
from knowledge.store import KnowledgeStore, SearchMode
from knowledge.sync import chunks_in

MODES: tuple[SearchMode, ...] = ("hybrid", "vector", "fts")


def build(store: KnowledgeStore, embedder, size: int) -> None:
    base = list(chunks_in([Path("examples/handbook")]))
    vecs = embedder.embed_documents([c.search_text for c in base])
    rng = np.random.default_rng(0)
    writer = store.collection("bench").writer()
    batch_c, batch_v = [], []
    for i in range(size):
        c, v = base[i % len(base)], vecs[i % len(base)]
        rep = i // len(base)
        if rep:
            text = c.text.replace("ledger", f"ledger{rep}").replace("15", str(15 + rep))
            c = replace(c, id=f"{c.id}-{rep}", source=f"team{rep}/{c.source}", text=text,
                        search_text=f"{c.title} {rep}\n{text}")  # fmt: skip
            v = v + rng.normal(0, 0.02, v.shape).astype(np.float32)
            v = v / np.linalg.norm(v)
        batch_c.append(replace(c, collection="bench"))
        batch_v.append(v)
        if len(batch_c) == 5000:
            writer.upsert(batch_c, batch_v)
            batch_c, batch_v = [], []
    if batch_c:
        writer.upsert(batch_c, batch_v)
    writer.publish()


def measure(
    engine: Engine,
    embedder: SentenceTransformerEmbedder,
    questions: list[str],
    mode: SearchMode,
    n: int,
    embed: bool,
) -> list[float]:
    """Per-query ms through `Engine.search` (embed=True: the query embedded afresh), or
    through the collection with the vector computed beforehand (search alone)."""
    lat = []
    collection = engine.store.collection("bench")
    for i in range(n):
        q = questions[i % len(questions)]
        embedder.clear_query_cache()
        vec = None if embed else embedder.embed_query(q)
        t0 = time.perf_counter()
        if embed:
            engine.search(q, mode=mode)
        else:
            collection.search(text=q, vector=vec, mode=mode, k=8)
        lat.append((time.perf_counter() - t0) * 1000)
    return lat[3:]  # first calls warm caches


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--queries", type=int, default=60)
    args = ap.parse_args()
    questions = [
        json.loads(line)["question"]
        for line in Path("examples/handbook-questions.jsonl").read_text().splitlines()
        if line.strip()
    ]
    embedder = SentenceTransformerEmbedder()
    embedder.embed_query("warm up")
    print(f"machine: {machine()}")
    print("p50 / p95 ms per query; 'embed' rows include the query embedding (all three modes")
    print("embed, as Engine.search does), 'search' rows time the search alone")
    print(f"{'chunks':>7} {'index':6} {'what':6} {'hybrid':>13} {'vector':>13} {'fts':>13} "
          f"{'hybrid p50 / (vector + fts)':>28}")  # fmt: skip
    for size in [int(s) for s in args.sizes.split(",")]:
        with tempfile.TemporaryDirectory() as tmp:
            store = KnowledgeStore(tmp, ann_min_rows=50_000)
            build(store, embedder, size)
            kinds = store.collection("bench").indices()
            settings = Settings(home=Path(tmp), default_collection="bench",
                                retrieval=RetrievalSettings(k=8))  # fmt: skip
            engine = build_engine(settings, store=store, embedder=embedder, with_generator=False)
            label = "+".join(
                ("ANN" if k.startswith("Ivf") or k.startswith("IVF") else k) for k in kinds
            )
            for embed in (False, True):
                lat = {m: measure(engine, embedder, questions, m, args.queries, embed)
                       for m in MODES}  # fmt: skip
                cells = " ".join(f"{pct(v, 50):6.1f}/{pct(v, 95):6.1f}" for v in lat.values())
                ratio = pct(lat["hybrid"], 50) / (pct(lat["vector"], 50) + pct(lat["fts"], 50))
                what = "embed" if embed else "search"
                print(f"{size:7d} {label:6} {what:6} {cells} {ratio:28.2f}", flush=True)


if __name__ == "__main__":
    main()
