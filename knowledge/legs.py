"""The two search legs over a published LanceDB table, and hybrid search as both legs
run at once and fused in place.

LanceDB's own hybrid query ran the legs one after the other, read every column (the
384-float vectors included) and converted through its reranker's Arrow merges: three
times the cost of the two searches it fused. Here each leg reads only what a passage
needs, the full-text leg runs on a worker thread while the vector leg runs on the
caller's (LanceDB releases the GIL while it searches), and fusion is a dict.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from knowledge.fusion import Fusion, fuse

log = logging.getLogger(__name__)

Row = dict[str, Any]
PASSAGE_COLUMNS = [
    "id", "collection", "source", "title", "heading", "line_start", "line_end", "text",
    "updated_at",
]  # fmt: skip
# One worker per concurrent full-text leg; searches from several front-end threads
# share it, and a leg waiting for a worker is still no slower than running in series.
_POOL = ThreadPoolExecutor(max_workers=4, thread_name_prefix="teamkb-fts")


def vector_leg(table: Any, vector: np.ndarray, depth: int, where: str | None) -> list[Row]:
    """Nearest chunks by cosine; `similarity` is 1 − distance (no vectors read)."""
    q = table.search(vector, query_type="vector").distance_type("cosine")
    if where:
        q = q.where(where, prefilter=True)
    rows = q.select([*PASSAGE_COLUMNS, "_distance"]).limit(depth).to_list()
    for row in rows:
        row["similarity"] = 1.0 - float(row.pop("_distance"))
    return rows


def fts_leg(
    table: Any, text: str, vector: np.ndarray | None, depth: int, where: str | None
) -> list[Row]:
    """BM25 matches of `text` (already reduced to words); `similarity` is the cosine of
    each hit's vector to the query's (so abstention works on full-text hits too)."""
    if not text:
        return []
    q = table.search(text, query_type="fts", fts_columns="search_text")
    if where:
        q = q.where(where, prefilter=True)
    columns = [*PASSAGE_COLUMNS, "_score"] + (["vector"] if vector is not None else [])
    rows = q.select(columns).limit(depth).to_list()
    for row in rows:
        vec = row.pop("vector", None)
        row["similarity"] = (
            float(np.asarray(vec, dtype=np.float32) @ vector)
            if vec is not None and vector is not None
            else float("nan")
        )
    return rows


def hybrid(
    table: Any, text: str, vector: np.ndarray, fusion: Fusion, where: str | None
) -> list[tuple[Row, float]]:
    """Both legs at once, fused: (row, fused score), best first."""
    depth = fusion.candidates
    pending = _POOL.submit(fts_leg, table, text, vector, depth, where) if text else None
    vrows = vector_leg(table, vector, depth, where)
    frows = pending.result() if pending is not None else []
    by_id = {r["id"]: r for r in frows}
    by_id.update({r["id"]: r for r in vrows})  # the vector leg's exact similarity wins
    fused = fuse(
        [(r["id"], r["similarity"]) for r in vrows],
        [(r["id"], float(r["_score"])) for r in frows],
        fusion,
    )
    return [(by_id[i], score) for i, score in fused]
