"""The LanceDB store: one table per collection, upserted by chunk id, published by tag.

Readers only ever see the version tagged `published`. A sync writes new versions as it
goes and moves the tag at the very end, so a crashed or interrupted run leaves the last
good index searchable, and the next run resumes from what was written.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

import numpy as np
import pyarrow as pa

from knowledge.documents import Chunk
from knowledge.errors import IndexNotFound, InvalidCollectionName

log = logging.getLogger(__name__)

SearchMode = Literal["hybrid", "vector", "fts"]
PUBLISHED = "published"
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
TABLE_PREFIX = "kb_"


@lru_cache(maxsize=4)
def record_model(dim: int) -> Any:
    """The pydantic LanceModel of a chunk row (the vector size follows the embedder)."""
    from lancedb.pydantic import LanceModel, Vector

    class ChunkRecord(LanceModel):
        id: str
        collection: str
        source: str
        title: str
        heading: str
        line_start: int
        line_end: int
        text: str
        search_text: str
        text_hash: str
        file_hash: str
        updated_at: str
        vector: Vector(dim)  # type: ignore[valid-type]

    return ChunkRecord


@dataclass(frozen=True)
class Hit:
    chunk_id: str
    collection: str
    source: str
    title: str
    heading: str
    line_start: int
    line_end: int
    text: str
    updated_at: str
    score: float  # the mode's own ranking score (RRF, BM25 or 1 - distance)
    similarity: float  # cosine similarity of query and chunk, comparable across modes


def validate_collection(name: str) -> str:
    if not _NAME.match(name):
        raise InvalidCollectionName(name)
    return name


def sql_quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _id_filters(ids: list[str], batch: int = 500) -> Iterator[tuple[list[str], str]]:
    """`id IN (...)` filters in batches: one filter per batch keeps each SQL short."""
    for i in range(0, len(ids), batch):
        part = ids[i : i + batch]
        yield part, "id IN (" + ",".join(sql_quote(x) for x in part) + ")"


class KnowledgeStore:
    """Owns the LanceDB connection. `uri` is a folder or an object-store URI (s3://…)."""

    def __init__(
        self,
        uri: str,
        *,
        dim: int = 384,
        ann_min_rows: int = 50_000,
        refresh_seconds: float = 2.0,
        fusion_k: int = 10,
        fts_weight: float = 0.5,
        candidates: int = 20,
    ) -> None:
        import lancedb

        self.uri = uri
        self.dim = dim
        self.ann_min_rows = ann_min_rows
        self.refresh_seconds = refresh_seconds
        self.fusion_k = fusion_k
        self.fts_weight = fts_weight
        # Hybrid search fuses at least this many candidates from each list.
        self.candidates = candidates
        self.db = lancedb.connect(uri)
        self._readers: dict[str, tuple[Any, int, float]] = {}
        self._lock = threading.Lock()

    # -- collections -------------------------------------------------------------------
    def collections(self) -> list[str]:
        names = self.db.table_names(limit=10_000)
        return sorted(n[len(TABLE_PREFIX) :] for n in names if n.startswith(TABLE_PREFIX))

    def _table_name(self, collection: str) -> str:
        return TABLE_PREFIX + validate_collection(collection)

    def writer(self, collection: str) -> Any:
        """The latest version of a collection's table, created empty if missing."""
        name = self._table_name(collection)
        try:
            return self.db.open_table(name)
        except (FileNotFoundError, ValueError):
            return self.db.create_table(name, schema=record_model(self.dim), exist_ok=True)

    def published_version(self, collection: str) -> int | None:
        try:
            table = self.db.open_table(self._table_name(collection))
        except (FileNotFoundError, ValueError):
            return None
        tag = table.tags.list().get(PUBLISHED)
        return int(tag["version"]) if tag else None

    def reader(self, collection: str) -> tuple[Any, int]:
        """The published version, re-checked every `refresh_seconds` so long-running
        servers pick up a finished sync without a restart."""
        now = time.monotonic()
        with self._lock:
            cached = self._readers.get(collection)
            if cached and now - cached[2] < self.refresh_seconds:
                return cached[0], cached[1]
        version = self.published_version(collection)
        if version is None:
            raise IndexNotFound(collection)
        with self._lock:
            cached = self._readers.get(collection)
            if cached and cached[1] == version:
                self._readers[collection] = (cached[0], version, now)
                return cached[0], version
            table = self.db.open_table(self._table_name(collection))
            table.checkout(version)
            self._readers[collection] = (table, version, now)
            return table, version

    def drop(self, collection: str) -> None:
        self.db.drop_table(self._table_name(collection))
        self._readers.pop(collection, None)

    # -- writing -----------------------------------------------------------------------
    @staticmethod
    def scan(table: Any, columns: Sequence[str]) -> pa.Table:
        n = table.count_rows()
        if n == 0:
            return pa.table({c: pa.array([], pa.string()) for c in columns})
        return table.search().select(list(columns)).limit(n).to_arrow()

    def vectors_for(self, table: Any, ids: Iterable[str]) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        for part, where in _id_filters(list(ids)):
            rows = table.search().where(where).select(["id", "vector"]).limit(len(part))
            for row in rows.to_list():
                out[row["id"]] = np.asarray(row["vector"], dtype=np.float32)
        return out

    @staticmethod
    def upsert(table: Any, chunks: Sequence[Chunk], vectors: Sequence[np.ndarray]) -> None:
        if not chunks:
            return
        rows = [
            {**c.__dict__, "vector": np.asarray(v, dtype=np.float32).tolist()}
            for c, v in zip(chunks, vectors, strict=True)
        ]
        (
            table.merge_insert("id")
            .when_matched_update_all()
            .when_not_matched_insert_all()
            .execute(rows)
        )

    @staticmethod
    def delete_ids(table: Any, ids: Sequence[str]) -> None:
        for _, where in _id_filters(list(ids)):
            table.delete(where)

    def publish(self, collection: str, table: Any) -> int:
        """Bring indexes up to date, then move the `published` tag to this version."""
        from lancedb.index import FTS

        indices = {ix.index_type: ix for ix in table.list_indices()}
        rows = table.count_rows()
        if "FTS" not in indices:
            table.create_index("search_text", config=FTS(with_position=False), replace=True)
        if rows >= self.ann_min_rows and not any(t.startswith("IVF") for t in indices):
            log.info("building an ANN index over %d chunks", rows)
            table.create_index(
                metric="cosine",
                vector_column_name="vector",
                index_type="IVF_HNSW_SQ",
                num_partitions=max(1, rows // 4096),
            )
        table.optimize()  # folds new rows into existing indexes incrementally
        version = int(table.version)
        if PUBLISHED in table.tags.list():
            table.tags.update(PUBLISHED, version)
        else:
            table.tags.create(PUBLISHED, version)
        with self._lock:
            self._readers.pop(collection, None)
        return version

    # -- reading -----------------------------------------------------------------------
    def search(
        self,
        collection: str,
        *,
        text: str,
        vector: np.ndarray | None,
        mode: SearchMode = "hybrid",
        k: int = 8,
        where: str | None = None,
    ) -> list[Hit]:
        from knowledge.fusion import WeightedRRFReranker

        table, _ = self.reader(collection)
        columns = [
            "id", "collection", "source", "title", "heading", "line_start", "line_end",
            "text", "updated_at", "vector",
        ]  # fmt: skip
        if mode == "hybrid":
            assert vector is not None
            q = (
                table.search(query_type="hybrid", fts_columns="search_text")
                .vector(vector)
                .text(text)
                .rerank(WeightedRRFReranker(K=self.fusion_k, fts_weight=self.fts_weight))
            )
            score_col = "_relevance_score"
        elif mode == "vector":
            assert vector is not None
            q = table.search(vector, query_type="vector").distance_type("cosine")
            score_col = "_distance"
        elif mode == "fts":
            q = table.search(text, query_type="fts", fts_columns="search_text")
            score_col = "_score"
        else:
            raise ValueError(f"unknown search mode {mode!r}")
        if where:
            q = q.where(where, prefilter=True)
        if mode != "hybrid":
            # Naming the score column keeps lance from warning about auto-projection; the
            # hybrid builder cannot project scores, so it reads all columns instead.
            q = q.select([*columns, score_col])
        depth = max(k, self.candidates) if mode == "hybrid" else k
        rows = q.limit(depth).to_list()[:k]
        hits = []
        for row in rows:
            vec = np.asarray(row["vector"], dtype=np.float32)
            sim = float(vec @ vector) if vector is not None else float("nan")
            raw = float(row.get(score_col) or 0.0)
            hits.append(
                Hit(
                    chunk_id=row["id"],
                    collection=row["collection"],
                    source=row["source"],
                    title=row["title"],
                    heading=row["heading"],
                    line_start=int(row["line_start"]),
                    line_end=int(row["line_end"]),
                    text=row["text"],
                    updated_at=row["updated_at"],
                    score=1.0 - raw if mode == "vector" else raw,
                    similarity=sim,
                )
            )
        return hits
