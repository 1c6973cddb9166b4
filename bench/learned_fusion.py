"""Learned fusion: a linear ranker over a few cheap signals of each candidate, trained
on some test sets and measured on the one left out.

RRF looks only at ranks. The candidates of the two legs carry more: the cosine, the
BM25 score, how many of the question's words the chunk holds, and whether its title or
heading names them. A linear model (pairwise logistic regression, RankNet-style) weighs
them; leave-one-set-out shows whether the weights carry over to a corpus they were not
fitted on, which is the only gain worth keeping.

    python bench/learned_fusion.py collect --name gitdoc --config /path/teamkb.toml \
        --collection gitdoc --questions ../shared/bench/qa/git-doc/questions.jsonl
    python bench/learned_fusion.py collect --name msmarco --beir ../shared/bench/beir/msmarco
    python bench/learned_fusion.py evaluate

`collect` writes one set's candidates (the two legs' top 20, their signals and labels)
to `--cache` (default /tmp/teamkb-learned-fusion); `evaluate` reads every set there.
A question set labels a candidate relevant when it holds all of the question's
`answer_keywords`, and is scored by fact recall@3; a BEIR set by its qrels and nDCG@10.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import machine
from engine.evaluation import load_questions
from engine.evaluation.answers import keyword_recall
from engine.terms import stems
from knowledge.diversity import collapse
from knowledge.embedding import SentenceTransformerEmbedder
from knowledge.evaluation import index_beir_corpus, ndcg_at_k, read_jsonl, read_qrels
from knowledge.fusion import Fusion, fuse
from knowledge.legs import fts_leg, vector_leg
from knowledge.query import fts_query
from knowledge.store import EmbeddingInfo, KnowledgeStore
from teamkb.config import load_settings

DEPTH = 20
FEATURES = ["cos", "cos_gap", "vec_rr", "fts_rr", "bm25_rel", "coverage", "title_cov", "both"]


def candidates(table: Any, embedder: Any, question: str) -> list[dict[str, Any]]:
    """The two legs' top DEPTH, each candidate with its signals (see FEATURES)."""
    vec = embedder.embed_query(question)
    vrows = vector_leg(table, vec, DEPTH, None)
    text = fts_query(question, drop_filler=False)
    frows = fts_leg(table, text, vec, DEPTH, None) if text else []
    by_id: dict[str, dict[str, Any]] = {}
    for rank, r in enumerate(frows):
        by_id[r["id"]] = {"row": r, "fts_rank": rank, "bm25": float(r["_score"])}
    for rank, r in enumerate(vrows):
        by_id.setdefault(r["id"], {"row": r})
        by_id[r["id"]].update(row=r, vec_rank=rank)
    q = stems(question)
    top_bm25 = max((float(r["_score"]) for r in frows), default=1.0) or 1.0
    top_cos = max((float(c["row"]["similarity"]) for c in by_id.values()), default=0.0)
    out = []
    for cid, c in by_id.items():
        r = c["row"]
        body = stems(f"{r['title']} {r['heading']} {r['text']}")
        head = stems(f"{r['title']} {r['heading']}")
        cos = float(r["similarity"])
        feats = {
            "cos": cos,
            "cos_gap": cos - top_cos,
            "vec_rr": 10 / (10 + c["vec_rank"] + 1) if "vec_rank" in c else 0.0,
            "fts_rr": 10 / (10 + c["fts_rank"] + 1) if "fts_rank" in c else 0.0,
            "bm25_rel": c.get("bm25", 0.0) / top_bm25,
            "coverage": len(q & body) / len(q) if q else 0.0,
            "title_cov": len(q & head) / len(q) if q else 0.0,
            "both": float("vec_rank" in c and "fts_rank" in c),
        }
        out.append({
            "id": cid, "source": r["source"], "text": r["text"],
            "search_text": f"{r['title']} › {r['heading']}\n{r['text']}",
            "vec_rank": c.get("vec_rank"), "fts_rank": c.get("fts_rank"),
            "cos": cos, "bm25": c.get("bm25"), "x": [feats[f] for f in FEATURES],
        })  # fmt: skip
    return out


def collect(args: argparse.Namespace) -> None:
    embedder = SentenceTransformerEmbedder()
    info = EmbeddingInfo(embedder.name, embedder.dim)
    settings = load_settings(args.config)
    queries: list[dict[str, Any]] = []
    if args.beir:
        folder = Path(args.beir)
        digest = hashlib.sha1((folder / "corpus.jsonl").read_bytes()).hexdigest()[:16]
        store = KnowledgeStore(str(settings.home / "eval" / f"{folder.name}-{digest}"),
                               embedding=info)  # fmt: skip
        if store.collection("beir").published_version() is None:
            index_beir_corpus(store, embedder, folder / "corpus.jsonl")
        table, _ = store.collection("beir")._published()
        qrels = read_qrels(folder / "qrels" / "test.tsv")
        texts = {str(q["_id"]): str(q["text"]) for q in read_jsonl(folder / "queries.jsonl")}
        for qid in qrels:
            if qid in texts:
                cands = candidates(table, embedder, texts[qid])
                for c in cands:
                    c["label"] = float(qrels[qid].get(c["source"], 0) > 0)
                queries.append({"id": qid, "kind": "beir", "qrels": qrels[qid], "cands": cands})
    else:
        store = KnowledgeStore(settings.index_location, embedding=info)
        table, _ = store.collection(args.collection)._published()
        for q in load_questions(Path(args.questions)):
            if q.kind != "answerable":
                continue
            cands = candidates(table, embedder, q.question)
            for c in cands:
                c["label"] = float(keyword_recall(c["text"], q.answer_keywords) == 1.0)
            queries.append({"id": q.id, "kind": "qa", "keywords": list(q.answer_keywords),
                            "gold": list(q.gold), "cands": cands})  # fmt: skip
    out = Path(args.cache) / f"{args.name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(queries))
    print(f"{args.name}: {len(queries)} queries -> {out}")


def rrf_order(cands: list[dict[str, Any]]) -> list[int]:
    vec = sorted((c for c in cands if c["vec_rank"] is not None), key=lambda c: c["vec_rank"])
    fts = sorted((c for c in cands if c["fts_rank"] is not None), key=lambda c: c["fts_rank"])
    fused = fuse([(c["id"], c["cos"]) for c in vec], [(c["id"], c["bm25"]) for c in fts],
                 Fusion("rrf", 10, 0.5))  # fmt: skip
    at = {c["id"]: n for n, c in enumerate(cands)}
    return [at[i] for i, _ in fused]


def score(query: dict[str, Any], order: list[int]) -> float:
    cands = query["cands"]
    ids = collapse([cands[n]["id"] for n in order], _text_of(cands), limit=10)
    by_id = {c["id"]: c for c in cands}
    if query["kind"] == "beir":
        return float(ndcg_at_k([by_id[i]["source"] for i in ids[:10]], query["qrels"]))
    text = "\n".join(by_id[i]["text"] for i in ids[:3])
    return float(keyword_recall(text, query["keywords"]) == 1.0)


def _text_of(cands: list[dict[str, Any]]) -> Any:
    texts = {c["id"]: c["search_text"] for c in cands}
    return lambda i: texts[i]


def pairs(queries: list[dict[str, Any]], cols: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """RankNet pairs: relevant minus non-relevant feature vectors, both signs, each
    query weighted equally whatever its number of pairs."""
    xs, ws = [], []
    for q in queries:
        x = np.array([c["x"] for c in q["cands"]])[:, cols]
        y = np.array([c["label"] for c in q["cands"]])
        pos, neg = x[y > 0], x[y == 0]
        if not len(pos) or not len(neg):
            continue
        d = (pos[:, None, :] - neg[None, :, :]).reshape(-1, len(cols))
        xs.append(d)
        ws.append(np.full(len(d), 1.0 / len(d)))
    diff = np.concatenate(xs)
    w = np.concatenate(ws)
    return np.concatenate([diff, -diff]), np.concatenate([w, w])


def fit(queries: list[dict[str, Any]], cols: list[int], c: float) -> np.ndarray:
    from sklearn.linear_model import LogisticRegression

    x, w = pairs(queries, cols)
    y = np.concatenate([np.ones(len(x) // 2), np.zeros(len(x) // 2)])
    model = LogisticRegression(C=c, fit_intercept=False, max_iter=2000)
    model.fit(x, y, sample_weight=w)
    return np.asarray(model.coef_[0])


def learned_order(query: dict[str, Any], weights: np.ndarray, cols: list[int]) -> list[int]:
    x = np.array([c["x"] for c in query["cands"]])[:, cols]
    return [int(i) for i in np.argsort(-(x @ weights), kind="stable")]


def evaluate(args: argparse.Namespace) -> None:
    sets = {p.stem: json.loads(p.read_text()) for p in sorted(Path(args.cache).glob("*.json"))}
    print(f"machine: {machine()}; sets: {', '.join(f'{k} ({len(v)})' for k, v in sets.items())}")
    cols = [FEATURES.index(f) for f in (args.features or FEATURES)]
    print("features:", ", ".join(FEATURES[i] for i in cols), f"C={args.c}")
    base = {n: np.mean([score(q, rrf_order(q["cands"])) for q in qs]) for n, qs in sets.items()}
    held = {}
    for name, qs in sets.items():
        train = [q for other, oq in sets.items() if other != name for q in oq]
        w = fit(train, cols, args.c)
        held[name] = np.mean([score(q, learned_order(q, w, cols)) for q in qs])
    everything = fit([q for qs in sets.values() for q in qs], cols, args.c)
    print("| set | RRF (default) | learned, set held out |")
    print("|---|---|---|")
    for name in sets:
        print(f"| {name} | {base[name]:.3f} | {held[name]:.3f} |")
    print(
        "weights on all sets:",
        ", ".join(f"{FEATURES[i]} {v:+.3f}" for i, v in zip(cols, everything, strict=True)),
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("collect")
    c.add_argument("--name", required=True)
    c.add_argument("--config", type=Path)
    c.add_argument("--collection")
    c.add_argument("--questions")
    c.add_argument("--beir")
    c.add_argument("--cache", default="/tmp/teamkb-learned-fusion")
    e = sub.add_parser("evaluate")
    e.add_argument("--cache", default="/tmp/teamkb-learned-fusion")
    e.add_argument("--features", nargs="*")
    e.add_argument("--c", type=float, default=1.0)
    args = ap.parse_args()
    collect(args) if args.cmd == "collect" else evaluate(args)


if __name__ == "__main__":
    main()
