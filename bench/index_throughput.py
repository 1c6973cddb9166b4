"""Indexing throughput vs the raw embedding model on the same chunks.

    python bench/index_throughput.py [PATH ...]     (default: examples/handbook)

Prints chunks/s of the raw model (embed_documents over every chunk, batch 32), of a full
`teamkb index` run into a fresh LanceDB (load, chunk, embed, upsert, FTS index,
publish), their ratio (target ≥ 0.90), and the time of an unchanged re-run.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import machine
from knowledge.embedding import SentenceTransformerEmbedder
from knowledge.store import KnowledgeStore
from knowledge.sync import chunks_in, sync_collection


def main() -> None:
    paths = [Path(p) for p in sys.argv[1:]] or [Path("examples/handbook")]
    embedder = SentenceTransformerEmbedder()
    texts = [c.search_text for c in chunks_in(paths)]
    embedder.embed_documents(texts[:64])  # load and warm the model
    raw = []
    full = []
    rerun = []
    for _ in range(2):  # interleave to even out noise from other work on the machine
        t0 = time.perf_counter()
        embedder.embed_documents(texts)
        raw.append(len(texts) / (time.perf_counter() - t0))
        with tempfile.TemporaryDirectory() as tmp:
            store = KnowledgeStore(tmp)
            t0 = time.perf_counter()
            report = sync_collection(store.collection("bench"), embedder, paths)
            full.append(report.added / (time.perf_counter() - t0))
            again = sync_collection(store.collection("bench"), embedder, paths)
            rerun.append(again.seconds)
    best_raw, best_full = max(raw), max(full)
    print(f"machine: {machine()}")
    print(f"corpus: {', '.join(map(str, paths))}: {len(texts)} chunks")
    print(f"raw model:  {best_raw:7.1f} chunks/s (best of {len(raw)})")
    print(f"full index: {best_full:7.1f} chunks/s (best of {len(full)})")
    print(f"ratio:      {best_full / best_raw:7.2%} of raw model speed (target ≥ 90%)")
    print(f"unchanged re-run: {min(rerun):.2f} s")


if __name__ == "__main__":
    main()
