"""Re-ranking and query-expansion methods measured for the README's retrieval table and
not kept: small-to-big (a third list: chunks ranked by their best small window), query
likelihood with the local model (UPR: log P(question | passage) by Gemma 3 270M),
HyDE (the local model's hypothetical answer, embedded) and Rocchio feedback on the
query vector (the mean of the top fused chunks' vectors added to it).

    python bench/rerank_experiments.py --qa gitdoc=../shared/bench/qa/git-doc/questions.jsonl \
        [--qa handbook=examples/handbook-questions.jsonl] [--windows 150,300,500]
        [--upr PATH.gguf --upr-depth 5,10] [--hyde PATH.gguf] [--rocchio]

Fact recall@3 per set, as `bench/retrieval_methods.py` counts it; the baseline row is
today's default (weighted RRF, K=10, full text 0.5, near-copies collapsed).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import machine
from bench.retrieval_methods import legs
from engine.evaluation import load_questions
from engine.evaluation.answers import keyword_recall
from engine.evidence import split_sentences
from knowledge.diversity import collapse
from knowledge.embedding import SentenceTransformerEmbedder
from knowledge.fusion import rrf_scores
from knowledge.store import EmbeddingInfo, KnowledgeStore
from teamkb.config import load_settings

Rows = dict[str, dict[str, Any]]


def windows(rows: Rows, max_chars: int) -> tuple[list[str], list[str]]:
    """(chunk id, window text) for runs of whole sentences up to `max_chars`, each with
    the chunk's `title › heading` in front, as chunks are embedded."""
    ids, texts = [], []
    for cid, r in rows.items():
        head = " › ".join(x for x in (r["title"], r["heading"]) if x)
        sents, i = split_sentences(r["text"]), 0
        while i < len(sents):
            j = i
            while j + 1 < len(sents) and sents[j + 1].end - sents[i].start <= max_chars:
                j += 1
            ids.append(cid)
            texts.append(f"{head}\n{r['text'][sents[i].start : sents[j].end]}")
            i = j + 1
    return ids, texts


def best_window_list(wids: np.ndarray, wvecs: np.ndarray, query: np.ndarray) -> list[str]:
    """Chunks by their best window's cosine, 20 deep."""
    sims = wvecs @ query
    best: dict[str, float] = {}
    for i in np.argsort(-sims)[:400]:
        best.setdefault(str(wids[i]), float(sims[i]))
    return sorted(best, key=lambda c: -best[c])[:20]


def fused_top3(lists: list[list[str]], weights: list[float], rows: Rows) -> list[str]:
    scores = rrf_scores(lists, weights, 10)
    order = sorted(scores, key=lambda i: -scores[i])
    return collapse(order, lambda i: str(rows[i]["search_text"]), limit=3)[:3]


def fact(rows: Rows, top: list[str], q: Any) -> bool:
    return keyword_recall("\n".join(rows[i]["text"] for i in top), q.answer_keywords) == 1.0


def small_to_big(name: str, rows: Rows, cands: list, embedder: Any, sizes: list[int]) -> None:
    base = sum(fact(rows, fused_top3([v, f], [1.0, 0.5], rows), q) for q, v, f, _ in cands)
    print(f"{name}: default fact@3 {base / len(cands):.3f}")
    for size in sizes:
        ids, texts = windows(rows, size)
        t0 = time.perf_counter()
        wvecs = embedder.embed_documents(texts)
        took = time.perf_counter() - t0
        wids = np.array(ids)
        third = [best_window_list(wids, wvecs, qv) for *_, qv in cands]
        cells = []
        for label, weights in (("alone", [0, 0, 1.0]), ("w0.5", [1.0, 0.5, 0.5]),
                               ("w1.0", [1.0, 0.5, 1.0])):  # fmt: skip
            hits = sum(fact(rows, fused_top3([v, f, w], weights, rows), q)
                       for (q, v, f, _), w in zip(cands, third, strict=True))  # fmt: skip
            cells.append(f"{label} {hits / len(cands):.3f}")
        print(f"{name}: windows ≤{size} chars: {len(ids)} windows for {len(rows)} chunks, "
              f"embedded in {took:.0f} s; fact@3 " + ", ".join(cells))  # fmt: skip


def upr_score(llm: Any, passage: str, question: str) -> float:
    """Mean log-probability of the question's tokens after the passage."""
    head = llm.tokenize(f"Passage: {passage[:1500]}\n\nA question this passage answers:"
                        .encode(), add_bos=True)  # fmt: skip
    tail = llm.tokenize((" " + question).encode(), add_bos=False)
    llm.reset()
    llm.eval(head + tail)
    logits = np.asarray(llm.scores[len(head) - 1 : len(head) + len(tail) - 1], dtype=np.float64)
    top = logits.max(axis=1, keepdims=True)
    lse = top[:, 0] + np.log(np.exp(logits - top).sum(axis=1))
    return float((logits[np.arange(len(tail)), tail] - lse).mean())


def query_likelihood(name: str, rows: Rows, cands: list, gguf: str, depths: list[int]) -> None:
    from llama_cpp import Llama

    llm = Llama(model_path=gguf, n_ctx=1024, n_threads=2, logits_all=True, verbose=False)
    for depth in depths:
        alone = fused = 0
        t0 = time.perf_counter()
        for q, v, f, _ in cands:
            scores = rrf_scores([v, f], [1.0, 0.5], 10)
            pool = collapse(sorted(scores, key=lambda i: -scores[i]),
                            lambda i: str(rows[i]["search_text"]), limit=depth)[:depth]  # fmt: skip
            lp = {i: upr_score(llm, rows[i]["text"], q.question) for i in pool}
            by_lm = sorted(pool, key=lambda i: -lp[i])
            alone += fact(rows, by_lm[:3], q)
            mixed = rrf_scores([pool, by_lm], [1.0, 1.0], 1)
            fused += fact(rows, sorted(pool, key=lambda i: -mixed[i])[:3], q)
        per = (time.perf_counter() - t0) / (len(cands) * depth)
        print(f"{name}: query likelihood over the top {depth}: fact@3 alone "
              f"{alone / len(cands):.3f}, fused with the hybrid rank (RRF K=1) "
              f"{fused / len(cands):.3f}; {per:.2f} s per passage")  # fmt: skip


def vector_list(table: Any, vec: np.ndarray) -> list[str]:
    res = table.search(vec, query_type="vector").distance_type("cosine")
    res = res.select(["id", "_distance"])
    return [r["id"] for r in res.limit(20).to_list()]


def hyde(name: str, rows: Rows, cands: list, table: Any, embedder: Any, gguf: str) -> None:
    """The model's greedy 64-token answer, embedded: a third list, or mixed into the query."""
    from llama_cpp import Llama

    llm = Llama(model_path=gguf, n_ctx=512, n_threads=2, verbose=False)
    hits = {"third list, weight 0.5": 0, "third list, weight 1.0": 0,
            "question + answer embedded as the query": 0}  # fmt: skip
    t0 = time.perf_counter()
    for q, v, f, _ in cands:
        out: Any = llm.create_completion(f"Question: {q.question}\nAnswer:", max_tokens=64,
                                    temperature=0.0)  # fmt: skip
        guess = out["choices"][0]["text"].strip()
        h = vector_list(table, embedder.embed_query(guess))
        mixed = vector_list(table, embedder.embed_query(f"{q.question} {guess}"))
        hits["third list, weight 0.5"] += fact(rows, fused_top3([v, f, h], [1, 0.5, 0.5], rows), q)
        hits["third list, weight 1.0"] += fact(rows, fused_top3([v, f, h], [1, 0.5, 1.0], rows), q)
        hits["question + answer embedded as the query"] += fact(
            rows, fused_top3([mixed, f], [1, 0.5], rows), q
        )
    per = (time.perf_counter() - t0) / len(cands)
    cells = ", ".join(f"{k} {n / len(cands):.3f}" for k, n in hits.items())
    print(f"{name}: HyDE ({per:.1f} s a question): fact@3 {cells}")


def rocchio(name: str, rows: Rows, cands: list, table: Any) -> None:
    """The query vector plus beta x the mean vector of the top k fused chunks, searched
    again and fused with the same full-text list."""
    cells = []
    for k in (1, 3, 5):
        for beta in (0.3, 0.7):
            n = 0
            for q, v, f, qv in cands:
                top = fused_top3([v, f], [1.0, 0.5], rows)[:k]
                moved = qv + beta * np.mean([rows[i]["vector"] for i in top], axis=0)
                again = vector_list(table, moved / np.linalg.norm(moved))
                n += fact(rows, fused_top3([again, f], [1.0, 0.5], rows), q)
            cells.append(f"top {k} beta {beta} {n / len(cands):.3f}")
    print(f"{name}: Rocchio feedback on the query vector: fact@3 " + ", ".join(cells))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--qa", action="append", default=[], required=True)
    ap.add_argument("--windows", default="150,300,500")
    ap.add_argument("--upr", help="a GGUF model: also run query-likelihood re-ranking")
    ap.add_argument("--upr-depth", default="5,10")
    ap.add_argument("--hyde", help="a GGUF model: also run HyDE")
    ap.add_argument("--rocchio", action="store_true", help="also run Rocchio feedback")
    ap.add_argument("--no-windows", action="store_true", help="skip small-to-big")
    args = ap.parse_args()
    settings = load_settings()
    embedder = SentenceTransformerEmbedder()
    print(f"machine: {machine()}")
    for spec in args.qa:
        name, path = spec.split("=", 1)
        coll = KnowledgeStore(settings.index_location,
                              embedding=EmbeddingInfo(embedder.name, embedder.dim)
                              ).collection(name)  # fmt: skip
        table, _ = coll._published()
        cols = ["id", "source", "title", "heading", "text", "search_text"]
        cols += ["vector"] if args.rocchio else []
        rows = {r["id"]: r for r in coll.rows(cols).to_pylist()}
        cands = []
        for q in load_questions(Path(path)):
            if q.kind == "answerable":
                c = legs(table, embedder, rows, q.question)
                cands.append((q, [i for i, _ in c["vector"]], [i for i, _ in c["raw"]],
                              embedder.embed_query(q.question)))  # fmt: skip
        if not args.no_windows:
            sizes = [int(s) for s in args.windows.split(",")]
            small_to_big(name, rows, cands, embedder, sizes)
        if args.hyde:
            hyde(name, rows, cands, table, embedder, args.hyde)
        if args.rocchio:
            rocchio(name, rows, cands, table)
        if args.upr:
            query_likelihood(
                name, rows, cands, args.upr, [int(d) for d in args.upr_depth.split(",")]
            )


if __name__ == "__main__":
    main()
