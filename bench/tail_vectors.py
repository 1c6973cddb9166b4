"""Chunks longer than MiniLM's 256-token window, embedded as a second vector for their
tail: measured for the README's retrieval table.

    python bench/tail_vectors.py CONFIG.toml:COLLECTION:QUESTIONS.jsonl [...]

all-MiniLM-L6-v2 reads the first 256 word pieces of a text and ignores the rest, so a
fact in the tail of a long chunk is invisible to the vector leg (27% of git-doc's
chunks are longer). For each chunk over the window this embeds a second text, the
chunk's `title › heading` line and the text from word piece 200 on, and scores the
chunk by the better of its two vectors. The full-text leg, fusion (the default RRF) and
near-copy collapse are the engine's; the baseline row runs the same code with the
tails left out, so it must match the README's default row.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import machine
from bench.retrieval_methods import DEPTH, legs
from engine.evaluation import load_questions
from engine.evaluation.answers import is_gold, keyword_recall
from knowledge.diversity import collapse
from knowledge.embedding import SentenceTransformerEmbedder
from knowledge.fusion import Fusion, fuse
from knowledge.store import EmbeddingInfo, KnowledgeStore
from teamkb.config import load_settings

WINDOW = 256 - 2  # [CLS] and [SEP] take two of MiniLM's 256 places
TAIL_FROM = 200  # the tail overlaps the head by ~50 word pieces


def tails(embedder: Any, rows: dict[str, dict[str, Any]]) -> dict[str, np.ndarray]:
    tok = embedder.model.tokenizer
    texts: dict[str, str] = {}
    for i, r in rows.items():
        text = str(r["search_text"])
        enc = tok(text, add_special_tokens=False, return_offsets_mapping=True)
        if len(enc["input_ids"]) <= WINDOW:
            continue
        label = text.split("\n", 1)[0]
        texts[i] = f"{label}\n{text[enc['offset_mapping'][TAIL_FROM][0] :]}"
    vectors = embedder.embed_documents(list(texts.values())) if texts else []
    return dict(zip(texts, (np.asarray(v, dtype=np.float32) for v in vectors), strict=True))


def vector_leg(q: np.ndarray, ids: list[str], heads: np.ndarray, tail: dict) -> list:
    scores = heads @ q
    for n, i in enumerate(ids):
        if i in tail:
            scores[n] = max(scores[n], float(tail[i] @ q))
    order = np.argsort(-scores)[:DEPTH]
    return [(ids[n], float(scores[n])) for n in order]


def measure(spec: str, embedder: Any) -> list[str]:
    config, name, questions = spec.split(":")
    settings = load_settings(Path(config))
    info = EmbeddingInfo(embedder.name, embedder.dim)
    coll = KnowledgeStore(settings.index_location, embedding=info).collection(name)
    table, _ = coll._published()
    cols = ["id", "source", "text", "search_text", "vector"]
    rows = {r["id"]: r for r in coll.rows(cols).to_pylist()}
    ids = list(rows)
    heads = np.asarray([rows[i]["vector"] for i in ids], dtype=np.float32)
    heads /= np.linalg.norm(heads, axis=1, keepdims=True)
    tail = tails(embedder, rows)
    qs = [q for q in load_questions(Path(questions)) if q.kind == "answerable"]
    out = [f"{name}: {len(tail)} of {len(rows)} chunks have a tail"]
    for label, extra in (("head only (the engine)", {}), ("head and tail, best of two", tail)):
        files = facts = 0
        for q in qs:
            qv = np.asarray(embedder.embed_query(q.question), dtype=np.float32)
            vec = vector_leg(qv / np.linalg.norm(qv), ids, heads, extra)
            fts = legs(table, embedder, rows, q.question)["raw"]
            top = [i for i, _ in fuse(vec, fts, Fusion("rrf", 10, 0.5))]
            top = collapse(top, lambda i: str(rows[i]["search_text"]), limit=10)
            files += any(is_gold(rows[i]["source"], q.gold) for i in top[:5])
            text = "\n".join(rows[i]["text"] for i in top[:3])
            facts += keyword_recall(text, q.answer_keywords) == 1.0
        out.append(f"| {label} | {files / len(qs):.3f} / {facts / len(qs):.3f} |")
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("sets", nargs="+", help="CONFIG.toml:COLLECTION:QUESTIONS.jsonl")
    args = ap.parse_args()
    embedder = SentenceTransformerEmbedder()
    print(f"machine: {machine()}")
    for spec in args.sets:
        print("\n".join(measure(spec, embedder)))


if __name__ == "__main__":
    main()
