"""Retrieval evaluation on BEIR-layout folders: nDCG@10, Recall@10, Recall@100.

Graded qrels count as graded (linear) gains, as trec_eval's ndcg_cut does.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import math
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from knowledge.chunking import sha1
from knowledge.diversity import DEFAULT_THRESHOLD
from knowledge.documents import Chunk
from knowledge.embedding import Embedder
from knowledge.errors import KnowledgeError
from knowledge.fusion import DEFAULT_FUSION, Fusion
from knowledge.query import FtsTokenizer
from knowledge.rerank import Reranker
from knowledge.store import EmbeddingInfo, KnowledgeStore, SearchMode

log = logging.getLogger(__name__)

Qrels = dict[str, dict[str, int]]


@dataclass(frozen=True)
class RetrievalScores:
    mode: str
    queries: int
    ndcg_at_10: float
    recall_at_10: float
    recall_at_100: float
    median_latency_ms: float

    def to_json(self) -> dict[str, float | int | str]:
        return {
            "ndcg@10": round(self.ndcg_at_10, 4),
            "recall@10": round(self.recall_at_10, 4),
            "recall@100": round(self.recall_at_100, 4),
            "queries": self.queries,
            "mode": self.mode,
            "median_latency_ms": round(self.median_latency_ms, 2),
        }


def ndcg_at_k(ranked: Sequence[str], rels: Mapping[str, int], k: int = 10) -> float:
    dcg = sum(rels.get(d, 0) / math.log2(i + 2) for i, d in enumerate(ranked[:k]))
    ideal = sorted((r for r in rels.values() if r > 0), reverse=True)[:k]
    idcg = sum(r / math.log2(i + 2) for i, r in enumerate(ideal))
    return dcg / idcg if idcg > 0 else 0.0


def recall_at_k(ranked: Sequence[str], rels: Mapping[str, int], k: int) -> float:
    relevant = {d for d, r in rels.items() if r > 0}
    if not relevant:
        return 0.0
    return len(relevant.intersection(ranked[:k])) / len(relevant)


def read_qrels(path: Path) -> Qrels:
    qrels: Qrels = {}
    with path.open(newline="", encoding="utf-8") as fh:
        for row in csv.reader(fh, delimiter="\t"):
            if len(row) < 3:
                continue
            qid, did, score = row[0], row[1], row[-1]
            try:
                rel = int(float(score))
            except ValueError:  # a header line such as "query-id corpus-id score"
                continue
            qrels.setdefault(qid, {})[did] = rel
    return qrels


def read_jsonl(path: Path) -> Iterator[dict[str, object]]:
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, start=1):
            if line.strip():
                try:
                    yield json.loads(line)
                except json.JSONDecodeError as exc:
                    raise KnowledgeError(f"{path}:{n}: invalid JSON ({exc.msg})") from exc


def _beir_files(folder: Path) -> tuple[Path, Path, Path]:
    corpus, queries = folder / "corpus.jsonl", folder / "queries.jsonl"
    qrels = folder / "qrels" / "test.tsv"
    for p in (corpus, queries, qrels):
        if not p.is_file():
            raise KnowledgeError(
                f"{folder} is not a BEIR folder: {p.relative_to(folder)} is missing "
                "(expected corpus.jsonl, queries.jsonl, qrels/test.tsv)"
            )
    return corpus, queries, qrels


def index_beir_corpus(
    store: KnowledgeStore, embedder: Embedder, corpus: Path, *, batch: int = 256
) -> int:
    """Index each BEIR document as one chunk (its id kept in `source`)."""
    writer = store.collection("beir").writer()
    pending: list[Chunk] = []
    count = 0

    def flush() -> None:
        vecs = embedder.embed_documents([c.search_text for c in pending])
        writer.upsert(pending, list(vecs))
        pending.clear()

    for doc in read_jsonl(corpus):
        did = str(doc["_id"])
        title = str(doc.get("title") or "")
        text = str(doc.get("text") or "")[:4000]
        search_text = f"{title}\n{text}" if title else text
        pending.append(
            Chunk(
                id=sha1(did)[:24], collection="beir", source=did, title=title, heading="",
                line_start=1, line_end=1, text=text, search_text=search_text,
                text_hash=sha1(search_text), file_hash="", updated_at="",
            )
        )  # fmt: skip
        count += 1
        if len(pending) >= batch:
            flush()
    if pending:
        flush()
    writer.publish()
    return count


def evaluate_beir(
    folder: Path,
    *,
    embedder: Embedder,
    scratch: Path,
    modes: Sequence[SearchMode] = ("hybrid",),
    progress: Callable[[str], None] | None = None,
    fusion: Fusion = DEFAULT_FUSION,
    collapse_threshold: float = DEFAULT_THRESHOLD,
    drop_filler: bool = False,
    fts_tokenizer: FtsTokenizer = "simple",
    reranker: Reranker | None = None,
    rerank_depth: int = 20,
) -> list[RetrievalScores]:
    """Index `folder` into a scratch table (reused while the corpus and the embedding
    model are unchanged) and score each mode over the judged queries."""
    corpus, queries_path, qrels_path = _beir_files(folder)
    digest = hashlib.sha1(corpus.read_bytes()).hexdigest()[:16]
    model = "" if embedder.name == "all-MiniLM-L6-v2" else f"-{embedder.name}"
    store = KnowledgeStore(
        str(scratch / f"{folder.name}-{digest}{model}"),
        embedding=EmbeddingInfo(embedder.name, embedder.dim),
        fusion=fusion,
        collapse_threshold=collapse_threshold,
        drop_filler=drop_filler,
        fts_tokenizer=fts_tokenizer,
        reranker=reranker,
        rerank_depth=rerank_depth,
    )
    beir = store.collection("beir")
    if beir.published_version() is None:
        if progress:
            progress(f"indexing {corpus} (first run only)")
        index_beir_corpus(store, embedder, corpus)
    elif (writer := beir.writer()).fts_index_stale():
        writer.publish()  # the same corpus, another full-text tokenizer
    qrels = read_qrels(qrels_path)
    queries = {str(q["_id"]): str(q["text"]) for q in read_jsonl(queries_path)}
    judged = [(qid, queries[qid]) for qid in qrels if qid in queries]
    if not judged:
        raise KnowledgeError(f"No judged queries in {folder}: qrels ids match no query ids")
    results = []
    for mode in modes:
        ndcg = r10 = r100 = 0.0
        latencies = []
        for qid, text in judged:
            t0 = time.perf_counter()
            vec = embedder.embed_query(text) if mode != "fts" else None
            # Top 10 as a user's search gets it (k=10); Recall@100 from a k=100 search.
            top = [h.source for h in beir.search(text=text, vector=vec, mode=mode, k=10)]
            latencies.append((time.perf_counter() - t0) * 1000)
            deep = beir.search(text=text, vector=vec, mode=mode, k=100)
            ndcg += ndcg_at_k(top, qrels[qid])
            r10 += recall_at_k(top, qrels[qid], 10)
            r100 += recall_at_k([h.source for h in deep], qrels[qid], 100)
        n = len(judged)
        latencies.sort()
        results.append(
            RetrievalScores(mode, n, ndcg / n, r10 / n, r100 / n, latencies[len(latencies) // 2])
        )
    return results
