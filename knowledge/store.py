"""The LanceDB store: one table per collection, upserted by chunk id, published by tag.

Readers only ever see the version tagged `published`. A sync writes new versions as it
goes and moves the tag at the very end, so a crashed or interrupted run leaves the last
good index searchable, and the next run resumes from what was written.

The raw LanceDB table never leaves this module: `KnowledgeStore.collection(name)` gives a
`Collection` (search and scan the published version) whose `writer()` gives a
`CollectionWriter` (upsert, delete, publish the latest version).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any, Literal

import numpy as np
import pyarrow as pa

from knowledge import legs
from knowledge.chunking import embedded_text
from knowledge.diversity import DEFAULT_THRESHOLD, collapse
from knowledge.documents import Chunk, Passage
from knowledge.errors import (
    CollectionNotFound,
    EmbeddingMismatch,
    IndexNotFound,
    InvalidCollectionName,
    ObjectStoreDenied,
)
from knowledge.fusion import DEFAULT_FUSION, Fusion
from knowledge.legs import PASSAGE_COLUMNS
from knowledge.locking import TABLE_PREFIX, collection_lock
from knowledge.query import FtsTokenizer, fts_query, has_content
from knowledge.rerank import Reranker, rerank

log = logging.getLogger(__name__)

SearchMode = Literal["hybrid", "vector", "fts"]
PUBLISHED = "published"
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
# Table metadata keys: which embedding model built the vectors of a collection.
META_MODEL = b"teamkb.embedding_model"
META_DIM = b"teamkb.embedding_dim"


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
class CollectionInfo:
    """What `teamkb collections` shows about one collection."""

    name: str
    rows: int  # rows readers see (the published version); 0 before the first publish
    latest_rows: int  # rows of the latest version (differs after an interrupted run)
    versions: int  # versions kept on disk
    published_version: int | None
    latest_version: int
    model: str  # the embedding model that built it ("" when an older teamkb built it)
    dim: int


@dataclass(frozen=True)
class EmbeddingInfo:
    """The embedding model a store writes with and expects to read."""

    model: str
    dim: int


def validate_collection(name: str) -> str:
    if not _NAME.match(name):
        raise InvalidCollectionName(name)
    return name


def sql_quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _like_prefix(prefix: str) -> str:
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"source LIKE {sql_quote(escaped + '%')}"


def _id_filters(ids: list[str], batch: int = 500) -> Iterator[tuple[list[str], str]]:
    """`id IN (...)` filters in batches: one filter per batch keeps each SQL short."""
    for i in range(0, len(ids), batch):
        part = ids[i : i + batch]
        yield part, "id IN (" + ",".join(sql_quote(x) for x in part) + ")"


def _scan(table: Any, columns: Sequence[str]) -> pa.Table:
    n = table.count_rows()
    if n == 0:
        return pa.table({c: pa.array([], pa.string()) for c in columns})
    return table.search().select(list(columns)).limit(n).to_arrow()


def _built_with(table: Any) -> EmbeddingInfo | None:
    """The model recorded in the table, or None for an index from before it was recorded
    (then only the vector width is known)."""
    schema = table.schema
    meta = schema.metadata or {}
    if META_MODEL in meta:
        return EmbeddingInfo(meta[META_MODEL].decode(), int(meta.get(META_DIM, b"0")))
    field = schema.field("vector")
    width = getattr(field.type, "list_size", 0)
    return EmbeddingInfo("", int(width)) if width else None


# S3 error codes that mean "wrong credentials", and the variable that carries each.
_DENIED = {
    "InvalidAccessKeyId": "AWS_ACCESS_KEY_ID",
    "SignatureDoesNotMatch": "AWS_SECRET_ACCESS_KEY",
    "ExpiredToken": "AWS_SESSION_TOKEN",
    "InvalidToken": "AWS_SESSION_TOKEN",
    "AccessDenied": "AWS_ACCESS_KEY_ID",
}


def connect(uri: str, storage_options: Mapping[str, str] | None = None) -> Any:
    """`lancedb.connect`, with an object store's refusal turned into a message that names
    the variable to fix. LanceDB's own error carries the whole S3 reply; it is logged at
    debug level only, and the secret is never in it (requests are signed, not sent)."""
    import lancedb

    try:
        db = lancedb.connect(uri, storage_options=dict(storage_options or {}) or None)
        if "://" in uri:
            db.table_names(limit=1)  # object stores: fail here, not on the first search
    except (OSError, ValueError, RuntimeError) as exc:
        denied = next((code for code in _DENIED if code in str(exc)), None)
        if denied is None:
            raise
        log.debug("object store refused access: %s", exc)
        raise ObjectStoreDenied(uri, _DENIED[denied], denied) from None
    return db


class KnowledgeStore:
    """Owns the LanceDB connection. `uri` is a folder or an object-store URI (s3://…);
    `storage_options` are LanceDB's for that store (credentials, endpoint, region)."""

    def __init__(
        self,
        uri: str,
        *,
        embedding: EmbeddingInfo = EmbeddingInfo("all-MiniLM-L6-v2", 384),
        ann_min_rows: int = 50_000,
        refresh_seconds: float = 2.0,
        fusion: Fusion = DEFAULT_FUSION,
        collapse_threshold: float = DEFAULT_THRESHOLD,
        drop_filler: bool = False,
        fts_tokenizer: FtsTokenizer = "simple",
        storage_options: Mapping[str, str] | None = None,
        reranker: Reranker | None = None,
        rerank_depth: int = 20,
    ) -> None:
        self.uri = uri
        self.embedding = embedding
        self.ann_min_rows = ann_min_rows
        self.refresh_seconds = refresh_seconds
        self.fusion = fusion
        # Near-copies (word 3-gram Jaccard at least this) collapse to the best; 1.0: off.
        self.collapse_threshold = collapse_threshold
        self.drop_filler = drop_filler
        self.fts_tokenizer = fts_tokenizer
        # A cross-encoder puts the best `rerank_depth` candidates in its order (none by
        # default: knowledge.rerank says why).
        self.reranker = reranker
        self.rerank_depth = rerank_depth
        self.db = connect(uri, storage_options)
        self._collections: dict[str, Collection] = {}
        self._lock = threading.Lock()

    def collections(self) -> list[str]:
        names = self.db.table_names(limit=10_000)
        return sorted(n[len(TABLE_PREFIX) :] for n in names if n.startswith(TABLE_PREFIX))

    def collection(self, name: str) -> Collection:
        validate_collection(name)
        with self._lock:
            found = self._collections.get(name)
            if found is None:
                found = self._collections[name] = Collection(self, name)
            return found

    def lock(self, name: str, *, timeout: float | None = None) -> AbstractContextManager[None]:
        """The collection's write lock (see knowledge.locking): one writer at a time."""
        return collection_lock(self.uri, validate_collection(name), timeout=timeout)

    def drop(self, name: str) -> None:
        """Delete a collection and all its versions. Refuses while an index run writes it."""
        with self.lock(name, timeout=5.0):
            self._raw(name)  # raises CollectionNotFound
            self.db.drop_table(TABLE_PREFIX + name)
        with self._lock:
            self._collections.pop(name, None)

    def info(self, name: str) -> CollectionInfo:
        """Rows, versions and embedding model of a collection, whichever model built it."""
        table = self._raw(name)
        tag = table.tags.list().get(PUBLISHED)
        published = int(tag["version"]) if tag else None
        latest, latest_rows = int(table.version), int(table.count_rows())
        rows = 0
        if published is not None:
            table.checkout(published)
            rows = int(table.count_rows())
        built = _built_with(table) or EmbeddingInfo("", 0)
        return CollectionInfo(
            name=name,
            rows=rows,
            latest_rows=latest_rows,
            versions=len(table.list_versions()),
            published_version=published,
            latest_version=latest,
            model=built.model,
            dim=built.dim,
        )

    def _raw(self, name: str) -> Any:
        """The table, unchecked (info and drop work whichever model built it)."""
        try:
            return self.db.open_table(TABLE_PREFIX + validate_collection(name))
        except (FileNotFoundError, ValueError):
            raise CollectionNotFound(name, self.collections()) from None

    # -- tables: for Collection only ---------------------------------------------------
    def _open(self, name: str) -> Any | None:
        try:
            table = self.db.open_table(TABLE_PREFIX + name)
        except (FileNotFoundError, ValueError):
            return None
        self._check_model(name, table)
        return table

    def _create(self, name: str) -> Any:
        schema = record_model(self.embedding.dim).to_arrow_schema()
        schema = schema.with_metadata(
            {META_MODEL: self.embedding.model.encode(), META_DIM: str(self.embedding.dim).encode()}
        )
        return self.db.create_table(TABLE_PREFIX + name, schema=schema, exist_ok=True)

    def _check_model(self, name: str, table: Any) -> None:
        built = _built_with(table)
        want = self.embedding
        if built is None:
            return
        if built.dim != want.dim or (built.model and built.model != want.model):
            raise EmbeddingMismatch(name, built.model or "an unrecorded model", built.dim,
                                    want.model, want.dim)  # fmt: skip


class Collection:
    """One collection: searches and scans read its published version, re-checked every
    `refresh_seconds` so long-running servers pick up a finished sync without a restart."""

    def __init__(self, store: KnowledgeStore, name: str) -> None:
        self.store = store
        self.name = name
        self._reader: tuple[Any, int, float] | None = None
        self._lock = threading.Lock()

    def published_version(self) -> int | None:
        table = self.store._open(self.name)
        if table is None:
            return None
        tag = table.tags.list().get(PUBLISHED)
        return int(tag["version"]) if tag else None

    def published_rows(self, columns: Sequence[str]) -> pa.Table | None:
        """These columns of the published version as it is now (never the cached reader:
        a sync compares against what another process may just have published); None
        before the first publish."""
        version = self.published_version()
        table = self.store._open(self.name)
        if version is None or table is None:
            return None
        table.checkout(version)
        return _scan(table, columns)

    def _published(self) -> tuple[Any, int]:
        now = time.monotonic()
        with self._lock:
            cached = self._reader
            if cached and now - cached[2] < self.store.refresh_seconds:
                return cached[0], cached[1]
        version = self.published_version()
        if version is None:
            raise IndexNotFound(self.name)
        with self._lock:
            cached = self._reader
            if cached and cached[1] == version:
                self._reader = (cached[0], version, now)
                return cached[0], version
            table = self.store._open(self.name)
            if table is None:  # dropped since we looked
                raise IndexNotFound(self.name)
            table.checkout(version)
            self._reader = (table, version, now)
            return table, version

    def _forget_reader(self) -> None:
        with self._lock:
            self._reader = None

    def indices(self) -> list[str]:
        """The kinds of index the published version has (FTS, IVF_HNSW_SQ, …)."""
        table, _ = self._published()
        return sorted({ix.index_type for ix in table.list_indices()})

    def rows(self, columns: Sequence[str]) -> pa.Table:
        """These columns of every published row."""
        table, _ = self._published()
        return _scan(table, columns)

    def passages(self) -> list[Passage]:
        """Every published chunk as a Passage, in source order."""
        rows = self.rows(PASSAGE_COLUMNS).to_pylist()
        rows.sort(key=lambda r: (r["source"], r["line_start"]))
        return [_passage(r, score=0.0, similarity=0.0) for r in rows]

    def search(
        self,
        *,
        text: str,
        vector: np.ndarray | None,
        mode: SearchMode = "hybrid",
        k: int = 8,
        path_prefix: str | None = None,
    ) -> list[Passage]:
        """The best `k` passages, near-copies collapsed. `text` is what the user typed:
        the full-text leg searches its words without conversational filler, and a query
        left with no words finds nothing there (an empty list, not an error)."""
        table, _ = self._published()
        if not has_content(text):
            return []
        store = self.store
        words = fts_query(text, drop_filler=store.drop_filler)
        where = _like_prefix(path_prefix) if path_prefix else None
        # Fetch beyond k so that collapsing near-copies still leaves k passages, and as
        # deep as the re-ranker reads.
        depth = max(k, store.fusion.candidates, store.rerank_depth if store.reranker else 0)
        hits: list[tuple[dict[str, Any], float]]
        if mode == "hybrid":
            if vector is None:
                raise ValueError("hybrid search needs the query vector")
            hits = legs.hybrid(table, words, vector, replace(store.fusion, candidates=depth),
                               where)  # fmt: skip
        elif mode == "vector":
            if vector is None:
                raise ValueError("vector search needs the query vector")
            hits = [(r, r["similarity"]) for r in legs.vector_leg(table, vector, depth, where)]
        elif mode == "fts":
            rows = legs.fts_leg(table, words, vector, depth, where)
            hits = [(r, float(r["_score"])) for r in rows]
        else:
            raise ValueError(f"unknown search mode {mode!r}")
        keep = max(k, store.rerank_depth) if store.reranker else k
        if store.collapse_threshold < 1.0:
            hits = collapse(hits, lambda h: str(h[0]["text"]), limit=keep,
                            threshold=store.collapse_threshold)  # fmt: skip
        if store.reranker is not None:
            rows = [r for r, _ in hits]
            texts = [embedded_text(r["title"], r["heading"], r["text"]) for r in rows]
            hits = rerank(store.reranker, text, rows, texts, store.rerank_depth)
        return [_passage(r, score=s, similarity=r["similarity"]) for r, s in hits[:k]]

    def nearest(self, vector: np.ndarray, *, k: int = 8) -> list[Passage]:
        """The `k` passages nearest to `vector` in meaning, whatever the words: what a
        decline lists as the closest passages when a question has no words to search."""
        table, _ = self._published()
        rows = legs.vector_leg(table, vector, k, None)
        return [_passage(r, score=r["similarity"], similarity=r["similarity"]) for r in rows]

    def writer(self) -> CollectionWriter:
        """A writer on the latest version (created empty if the collection is new)."""
        table = self.store._open(self.name)
        if table is None:
            table = self.store._create(self.name)
        return CollectionWriter(self, table)


def _tokenizer(index: Any) -> str:
    """The base tokenizer a full-text index was built with; indexes from before LanceDB
    recorded it were built with the default, "simple"."""
    details = getattr(index, "index_details", None) or {}
    return str(details.get("base_tokenizer") or "simple")


def _passage(row: dict[str, Any], *, score: float, similarity: float) -> Passage:
    return Passage(
        id=row["id"],
        collection=row["collection"],
        source=row["source"],
        title=row["title"],
        heading=row["heading"],
        lines=(int(row["line_start"]), int(row["line_end"])),
        text=row["text"],
        score=score,
        similarity=similarity,
        updated_at=row["updated_at"],
    )


class CollectionWriter:
    """Writes new versions of a collection; readers see none of it until `publish()`."""

    def __init__(self, collection: Collection, table: Any) -> None:
        self.collection = collection
        self._table = table

    @property
    def version(self) -> int:
        return int(self._table.version)

    def count(self) -> int:
        return int(self._table.count_rows())

    def rows(self, columns: Sequence[str]) -> pa.Table:
        """These columns of every row of the latest (maybe unpublished) version."""
        return _scan(self._table, columns)

    def vectors_for(self, ids: Iterable[str]) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        for part, where in _id_filters(list(ids)):
            rows = self._table.search().where(where).select(["id", "vector"]).limit(len(part))
            for row in rows.to_list():
                out[row["id"]] = np.asarray(row["vector"], dtype=np.float32)
        return out

    def upsert(self, chunks: Sequence[Chunk], vectors: Sequence[np.ndarray]) -> None:
        if not chunks:
            return
        rows = [
            {**c.__dict__, "vector": np.asarray(v, dtype=np.float32).tolist()}
            for c, v in zip(chunks, vectors, strict=True)
        ]
        (
            self._table.merge_insert("id")
            .when_matched_update_all()
            .when_not_matched_insert_all()
            .execute(rows)
        )

    def dedupe(self) -> int:
        """Keep one row per id; returns how many extra rows went. Older teamkb versions
        let two concurrent syncs insert the same chunks twice, and `merge_insert` keyed
        on id never removes such twins, so they are rewritten once here."""
        counts = Counter(self.rows(["id"]).column("id").to_pylist())
        twins = [cid for cid, n in counts.items() if n > 1]
        columns = self._table.schema.names
        for part, where in _id_filters(twins):
            rows = self._table.search().where(where).select(columns)
            found = rows.limit(sum(counts[c] for c in part)).to_arrow()
            first: dict[str, int] = {}
            for i, cid in enumerate(found.column("id").to_pylist()):
                first.setdefault(cid, i)
            self._table.delete(where)
            self._table.add(found.take(sorted(first.values())))
        return sum(counts[c] - 1 for c in twins)

    def delete(self, ids: Sequence[str]) -> None:
        for _, where in _id_filters(list(ids)):
            self._table.delete(where)

    def fts_index_stale(self, indices: Sequence[Any] | None = None) -> bool:
        """Whether the full-text index is missing or was built with another tokenizer
        than the store's: publishing then (re)builds it, even if no document changed.
        `indices`: the table's `list_indices()`, when the caller already has them."""
        listed = self._table.list_indices() if indices is None else indices
        found = [ix for ix in listed if ix.index_type == "FTS"]
        return not found or _tokenizer(found[0]) != self.collection.store.fts_tokenizer

    def publish(self) -> int:
        """Bring indexes up to date, then move the `published` tag to this version."""
        from lancedb.index import FTS

        table = self._table
        listed = table.list_indices()
        indices = {ix.index_type: ix for ix in listed}
        rows = table.count_rows()
        if self.fts_index_stale(listed):
            tokenizer = self.collection.store.fts_tokenizer
            log.info("building the full-text index (tokenizer %s)", tokenizer)
            config = FTS(with_position=False, base_tokenizer=tokenizer)
            table.create_index("search_text", config=config, replace=True)
        ann_min_rows = self.collection.store.ann_min_rows
        if rows >= ann_min_rows and not any(t.startswith("IVF") for t in indices):
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
        self.collection._forget_reader()
        return version
