"""Every retrieval method in the README's table, on the BEIR subsamples and the
fact-recall question sets: candidate lists are fetched once per query (vector, full
text, filler-free full text, RM3-style feedback), then fused offline with
`knowledge.fusion` for each method.

    python bench/retrieval_methods.py [--beir-root ../shared/bench/beir]
        [--qa gitdoc=../shared/bench/qa/git-doc/questions.jsonl]
        [--qa handbook=examples/handbook-questions.jsonl]

The question sets search the configured index (`teamkb index … --collection NAME`);
BEIR folders are indexed into the `eval` scratch folder on first use.
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
from engine.evaluation import load_questions
from engine.evaluation.answers import keyword_recall
from knowledge.diversity import collapse
from knowledge.embedding import SentenceTransformerEmbedder
from knowledge.evaluation import index_beir_corpus, ndcg_at_k, read_jsonl, read_qrels
from knowledge.fusion import Fusion, fuse, rrf_scores
from knowledge.query import FILLER, expansion_terms, fts_query, words
from knowledge.store import EmbeddingInfo, KnowledgeStore
from teamkb.config import load_settings

DEPTH = 20
# (label, fusion or None for a single leg, full-text list, collapse)
METHODS: list[tuple[str, Fusion | str, str, bool]] = [
    ("vector only", "vector", "raw", False),
    ("full text only", "fts", "raw", False),
    ("RRF K=10 w=0.5 (default)", Fusion("rrf", 10, 0.5), "raw", False),
    ("+ near-copy collapse (default)", Fusion("rrf", 10, 0.5), "raw", True),
    ("RRF w=0.75", Fusion("rrf", 10, 0.75), "raw", False),
    ("RRF w=1.0", Fusion("rrf", 10, 1.0), "raw", False),
    ("RRF K=60 w=1.0", Fusion("rrf", 60, 1.0), "raw", False),
    ("convex alpha 0.5", Fusion("convex", fts_weight=1.0), "raw", False),
    ("convex alpha 0.67", Fusion("convex", fts_weight=0.5), "raw", False),
    ("convex alpha 0.75", Fusion("convex", fts_weight=1 / 3), "raw", False),
    ("filler dropped", Fusion("rrf", 10, 0.5), "filler", False),
    ("filler dropped, w=0.75", Fusion("rrf", 10, 0.75), "filler", False),
    ("RM3 10 terms top 5 boost 0.3", Fusion("rrf", 10, 0.5), "rm3", False),
    ("full text's best kept in the top 3", Fusion("rrf", 10, 0.5, fts_best_within=3), "raw", True),
    # Only when the full-text leg is sure: its best BM25 score ≥ 1.1 / 1.3 × its second.
    ("the same, gated at a 1.1 BM25 ratio", "gated:1.1", "raw", True),
    ("the same, gated at a 1.3 BM25 ratio", "gated:1.3", "raw", True),
    # Rescored RRF (see `rescored`): a chunk's neighbours in its file, its file's other
    # hits, or a full-text weight set per query by how much the two legs agree.
    ("+ 0.25 x the neighbouring chunks' scores", "neighbours:0.25", "raw", True),
    ("+ 0.5 x the neighbouring chunks' scores", "neighbours:0.5", "raw", True),
    ("+ 0.1 x the file's other hits' scores", "file:0.1", "raw", True),
    ("+ 0.25 x the file's other hits' scores", "file:0.25", "raw", True),
    ("full-text weight 0.3 + 0.7 x top-10 overlap", "agree:0.3:0.7", "raw", True),
    ("full-text weight 0.5 + 0.5 x top-10 overlap", "agree:0.5:0.5", "raw", True),
    # The question cut into its clauses, each embedded and searched as one more vector
    # list at this RRF weight (a one-clause question is unchanged).
    ("+ each clause as a vector list, weight 0.25", "clauses:0.25", "raw", True),
    ("+ each clause as a vector list, weight 0.5", "clauses:0.5", "raw", True),
    ("+ each clause as a vector list, weight 1.0", "clauses:1.0", "raw", True),
]
# Sentences, " -- " asides and ", and/but/so" joins: how people chain context and ask.
_CLAUSE = re.compile(r"(?<=[.?!;])\s+|\s+--\s+|,\s+(?:and|but|so)\s+")


def clauses(text: str) -> list[str]:
    """The question's clauses with two or more content words, or [] for one clause."""
    parts = [p.strip() for p in _CLAUSE.split(text) if p.strip()]
    parts = [p for p in parts if sum(w.lower() not in FILLER for w in words(p)) >= 2]
    return parts if len(parts) > 1 else []


def legs(table: Any, embedder: Any, rows: dict[str, dict[str, Any]], text: str) -> dict:
    from lancedb.query import BooleanQuery, MatchQuery, Occur

    def fts(q: Any) -> list[tuple[str, float]]:
        kw = {"fts_columns": "search_text"} if isinstance(q, str) else {}
        if isinstance(q, str) and not q:
            return []
        res = table.search(q, query_type="fts", **kw).select(["id", "_score"]).limit(DEPTH)
        return [(r["id"], float(r["_score"])) for r in res.to_list()]

    def nearest(query: str) -> list[tuple[str, float]]:
        vres = table.search(embedder.embed_query(query), query_type="vector")
        return [(r["id"], 1 - r["_distance"]) for r in vres.distance_type("cosine")
                .select(["id", "_distance"]).limit(DEPTH).to_list()]  # fmt: skip

    vector = nearest(text)
    stripped = fts_query(text)
    filler = fts(stripped)
    out = {"vector": vector, "raw": fts(fts_query(text, drop_filler=False)), "filler": filler,
           "clauses": [nearest(c) for c in clauses(text)]}  # fmt: skip
    top = filler[:5]
    terms = expansion_terms([rows[i]["search_text"] for i, _ in top], [s for _, s in top],
                            stripped)  # fmt: skip
    out["rm3"] = filler
    if top and terms:
        q = BooleanQuery([(Occur.SHOULD, MatchQuery(stripped, "search_text", boost=1.0)),
                          (Occur.SHOULD, MatchQuery(" ".join(terms), "search_text",
                                                    boost=0.3))])  # fmt: skip
        out["rm3"] = fts(q)
    return out


def rescored(how: str, cand: dict, rows: dict) -> list[str]:
    """Weighted RRF (K=10), then `neighbours:L` adds L x the scores of the chunks just
    before and after in the same file, `file:L` adds L x the file's other hits' scores,
    `agree:A:B` weights full text A + B x the share of the two legs' top 10 shared, and
    `clauses:W` fuses each clause's vector list at weight W."""
    kind, *args = how.split(":")
    vector, fts = [i for i, _ in cand["vector"]], [i for i, _ in cand["raw"]]
    weight = 0.5
    if kind == "agree":
        weight = float(args[0]) + float(args[1]) * len(set(vector[:10]) & set(fts[:10])) / 10
    lists, weights = [vector, fts], [1.0, weight]
    if kind == "clauses":
        lists += [[i for i, _ in hits] for hits in cand["clauses"]]
        weights += [float(args[0])] * len(cand["clauses"])
    scores = rrf_scores(lists, weights, 10)
    new = dict(scores)
    if kind == "neighbours":
        by_file: dict[str, list[tuple[int, str]]] = {}
        for i, r in rows.items():
            by_file.setdefault(r["source"], []).append((r["line_start"], i))
        for i in scores:
            chunks = sorted(by_file[rows[i]["source"]])
            at = chunks.index((rows[i]["line_start"], i))
            near = [chunks[j][1] for j in (at - 1, at + 1) if 0 <= j < len(chunks)]
            new[i] += float(args[0]) * sum(scores.get(j, 0.0) for j in near)
    elif kind == "file":
        per_file: dict[str, float] = {}
        for i, sc in scores.items():
            per_file[rows[i]["source"]] = per_file.get(rows[i]["source"], 0.0) + sc
        for i in scores:
            new[i] += float(args[0]) * (per_file[rows[i]["source"]] - scores[i])
    return sorted(new, key=lambda i: -new[i])


def ranked(method: tuple[str, Fusion | str, str, bool], cand: dict, rows: dict) -> list[str]:
    _, how, leg, dedup = method
    if isinstance(how, str) and how.split(":")[0] in ("neighbours", "file", "agree", "clauses"):
        ids = rescored(how, cand, rows)
    elif isinstance(how, str) and how.startswith("gated:"):
        fts = cand[leg]
        sure = bool(fts) and (len(fts) < 2 or fts[0][1] >= float(how[6:]) * fts[1][1])
        ids = [i for i, _ in fuse(cand["vector"], fts, Fusion(fts_best_within=3 if sure else 0))]
    elif isinstance(how, str):
        ids = [i for i, _ in cand[how if how == "vector" else leg]]
    else:
        ids = [i for i, _ in fuse(cand["vector"], cand[leg], how)]
    if dedup:
        ids = collapse(ids, lambda i: str(rows[i]["search_text"]), limit=10)
    return ids


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--beir-root", type=Path, default=Path("../shared/bench/beir"))
    ap.add_argument("--qa", action="append", default=[])
    args = ap.parse_args()
    settings = load_settings()
    embedder = SentenceTransformerEmbedder()
    info = EmbeddingInfo(embedder.name, embedder.dim)
    print(f"machine: {machine()}")
    results: dict[str, dict[str, str]] = {m[0]: {} for m in METHODS}
    for folder in sorted(p for p in args.beir_root.iterdir() if p.is_dir()):
        digest = hashlib.sha1((folder / "corpus.jsonl").read_bytes()).hexdigest()[:16]
        store = KnowledgeStore(str(settings.home / "eval" / f"{folder.name}-{digest}"),
                               embedding=info)  # fmt: skip
        if store.collection("beir").published_version() is None:
            index_beir_corpus(store, embedder, folder / "corpus.jsonl")
        coll = store.collection("beir")
        table, _ = coll._published()
        cols = ["id", "source", "search_text", "line_start"]
        rows = {r["id"]: r for r in coll.rows(cols).to_pylist()}
        qrels = read_qrels(folder / "qrels" / "test.tsv")
        queries = {str(q["_id"]): str(q["text"]) for q in read_jsonl(folder / "queries.jsonl")}
        judged = [(qid, queries[qid]) for qid in qrels if qid in queries]
        cands = [(qid, legs(table, embedder, rows, text)) for qid, text in judged]
        for m in METHODS:
            total = sum(
                ndcg_at_k([rows[i]["source"] for i in ranked(m, c, rows)[:10]], qrels[qid])
                for qid, c in cands
            )
            results[m[0]][folder.name] = f"{total / len(cands):.3f}"
    for spec in args.qa:
        name, path = spec.split("=", 1)
        store = KnowledgeStore(settings.index_location, embedding=info)
        coll = store.collection(name)
        table, _ = coll._published()
        cols = ["id", "source", "text", "search_text", "line_start"]
        rows = {r["id"]: r for r in coll.rows(cols).to_pylist()}
        qs = [q for q in load_questions(Path(path)) if q.kind == "answerable"]
        cands = [(q, legs(table, embedder, rows, q.question)) for q in qs]
        for m in METHODS:
            files = facts = 0
            for q, c in cands:
                top = ranked(m, c, rows)
                files += bool(set(q.gold) & {rows[i]["source"] for i in top[:5]})
                text = "\n".join(rows[i]["text"] for i in top[:3])
                facts += keyword_recall(text, q.answer_keywords) == 1.0
            results[m[0]][name] = f"{files / len(qs):.3f} / {facts / len(qs):.3f}"
    sets = list(next(iter(results.values())))
    print("| method | " + " | ".join(sets) + " |")
    print("|---" * (len(sets) + 1) + "|")
    for label, by_set in results.items():
        print(f"| {label} | " + " | ".join(by_set[s] for s in sets) + " |")


if __name__ == "__main__":
    main()
