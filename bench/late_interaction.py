"""Late interaction (ColBERT-style MaxSim) with the embedding model's own token vectors,
measured for the README's retrieval table and not kept.

    python bench/late_interaction.py [--qa gitdoc=../shared/bench/qa/git-doc/questions.jsonl]
        [--qa handbook=examples/handbook-questions.jsonl] [--beir ../shared/bench/beir/msmarco]

The candidates are the two legs' top 20 (as `bench/retrieval_methods.py` fetches them).
Each is scored by MaxSim: every content word piece of the query takes its best cosine
with any word piece of the chunk (all-MiniLM-L6-v2's contextual token vectors, before
pooling), and the chunk's score is their mean. No model beyond the one already indexed
with is needed; the chunks' token vectors are computed at query time (storing them
would take ~200 x 384 floats a chunk). Printed per set: fact recall@3 (file recall@5)
for questions files, nDCG@10 for BEIR folders, for today's default and each variant.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import machine
from bench.retrieval_methods import legs
from engine.evaluation import load_questions
from engine.evaluation.answers import keyword_recall
from engine.terms import STOP
from knowledge.diversity import collapse
from knowledge.embedding import SentenceTransformerEmbedder
from knowledge.evaluation import ndcg_at_k, read_jsonl, read_qrels
from knowledge.fusion import Fusion, fuse, rrf_scores
from knowledge.query import FILLER
from knowledge.store import EmbeddingInfo, KnowledgeStore
from teamkb.config import load_settings

Rows = dict[str, dict[str, Any]]
# Word pieces that carry no content: function words and the full-text leg's filler.
_SKIP = STOP | FILLER


class MaxSim:
    def __init__(self, embedder: SentenceTransformerEmbedder) -> None:
        self.model = embedder.model
        self.cache: dict[str, Any] = {}

    def _tokens(self, texts: list[str]) -> list[Any]:
        import torch

        out = self.model.encode(texts, output_value="token_embeddings", convert_to_numpy=False)
        return [torch.nn.functional.normalize(t.float(), dim=-1) for t in out]

    def query(self, text: str) -> Any:
        vecs = self._tokens([text])[0]
        tok = self.model.tokenizer
        pieces = tok.convert_ids_to_tokens(tok(text, truncation=True, max_length=256)["input_ids"])
        keep = [
            n
            for n, p in enumerate(pieces)
            if p not in ("[CLS]", "[SEP]")
            and re.search(r"[A-Za-z0-9]", p)
            and p.lstrip("#").lower() not in _SKIP
        ]
        return vecs[keep or list(range(len(pieces)))]

    def ranked(self, query: Any, ids: list[str], rows: Rows) -> list[str]:
        need = [i for i in ids if i not in self.cache]
        if need:
            texts = [str(rows[i]["search_text"]) for i in need]
            for i, vecs in zip(need, self._tokens(texts), strict=True):
                self.cache[i] = vecs[1:-1]  # without [CLS] and [SEP]
        score = {i: float((query @ self.cache[i].T).max(dim=1).values.mean()) for i in ids}
        return sorted(ids, key=lambda i: -score[i])


def variants(ms: MaxSim, cand: dict, rows: Rows, text: str) -> dict[str, list[str]]:
    vector, fts = [i for i, _ in cand["vector"]], [i for i, _ in cand["raw"]]
    late = ms.ranked(ms.query(text), list(dict.fromkeys(vector + fts)), rows)
    default = [i for i, _ in fuse(cand["vector"], cand["raw"], Fusion("rrf", 10, 0.5))]
    out = {"default (weighted RRF)": default, "MaxSim alone": late}
    for w in (0.5, 1.0):
        scores = rrf_scores([vector, fts, late], [1.0, 0.5, w], 10)
        out[f"MaxSim as a third list, weight {w}"] = sorted(scores, key=lambda i: -scores[i])
    at = {i: n for n, i in enumerate(late)}
    top10 = sorted(default[:10], key=lambda i: at.get(i, len(late)))
    out["default's top 10 re-ranked by MaxSim"] = top10 + default[10:]
    both = rrf_scores([default[:10], top10], [1.0, 1.0], 1)
    fused = sorted(both, key=lambda i: -both[i])
    out["the same, fused with the default rank"] = fused + default[10:]
    return {k: collapse(v, lambda i: str(rows[i]["search_text"]), limit=10) for k, v in out.items()}


def questions(ms: MaxSim, embedder: Any, info: EmbeddingInfo, spec: str) -> dict[str, str]:
    name, path = spec.split("=", 1)
    coll = KnowledgeStore(load_settings().index_location, embedding=info).collection(name)
    table, _ = coll._published()
    rows = {r["id"]: r for r in coll.rows(["id", "source", "text", "search_text",
                                           "line_start"]).to_pylist()}  # fmt: skip
    qs = [q for q in load_questions(Path(path)) if q.kind == "answerable"]
    hits: dict[str, list[int]] = {}
    for q in qs:
        for label, top in variants(ms, legs(table, embedder, rows, q.question), rows,
                                   q.question).items():  # fmt: skip
            h = hits.setdefault(label, [0, 0])
            h[0] += keyword_recall("\n".join(rows[i]["text"] for i in top[:3]),
                                   q.answer_keywords) == 1.0  # fmt: skip
            h[1] += bool(set(q.gold) & {rows[i]["source"] for i in top[:5]})
    return {k: f"{f / len(qs):.3f} ({g / len(qs):.3f})" for k, (f, g) in hits.items()}


def beir(ms: MaxSim, embedder: Any, info: EmbeddingInfo, folder: Path) -> dict[str, str]:
    settings = load_settings()
    digest = hashlib.sha1((folder / "corpus.jsonl").read_bytes()).hexdigest()[:16]
    store = KnowledgeStore(str(settings.home / "eval" / f"{folder.name}-{digest}"),
                           embedding=info)  # fmt: skip
    coll = store.collection("beir")
    table, _ = coll._published()  # indexed by bench/retrieval_methods.py on first use
    rows = {r["id"]: r for r in coll.rows(["id", "source", "search_text",
                                           "line_start"]).to_pylist()}  # fmt: skip
    qrels = read_qrels(folder / "qrels" / "test.tsv")
    queries = {str(q["_id"]): str(q["text"]) for q in read_jsonl(folder / "queries.jsonl")}
    judged = [(qid, queries[qid]) for qid in qrels if qid in queries]
    total: dict[str, float] = {}
    for qid, text in judged:
        for label, top in variants(ms, legs(table, embedder, rows, text), rows, text).items():
            gain = ndcg_at_k([rows[i]["source"] for i in top[:10]], qrels[qid])
            total[label] = total.get(label, 0.0) + gain
    return {k: f"{v / len(judged):.3f}" for k, v in total.items()}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--qa", action="append", default=[])
    ap.add_argument("--beir", action="append", default=[], type=Path)
    args = ap.parse_args()
    embedder = SentenceTransformerEmbedder()
    info = EmbeddingInfo(embedder.name, embedder.dim)
    ms = MaxSim(embedder)
    print(f"machine: {machine()}")
    results = {spec.split("=", 1)[0]: questions(ms, embedder, info, spec) for spec in args.qa}
    results |= {folder.name: beir(ms, embedder, info, folder) for folder in args.beir}
    labels = list(next(iter(results.values()), {}))
    print("| method | " + " | ".join(results) + " |\n" + "|---" * (len(results) + 1) + "|")
    for label in labels:
        print(f"| {label} | " + " | ".join(r[label] for r in results.values()) + " |")


if __name__ == "__main__":
    main()
