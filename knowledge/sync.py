"""Incremental sync of a docs folder into a collection.

Unchanged files (same content hash) are not even parsed; changed chunks are re-embedded;
chunks whose text merely moved reuse their vector; chunks of vanished files are removed.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from knowledge.chunking import chunk_document
from knowledge.documents import Chunk
from knowledge.embedding import Embedder
from knowledge.errors import KnowledgeError, LoadError
from knowledge.loaders import load_document, supported
from knowledge.store import KnowledgeStore

log = logging.getLogger(__name__)

_IGNORED_DIRS = {"node_modules", "__pycache__", "venv", ".venv", "_build", "site-packages"}


@dataclass(frozen=True)
class SkippedFile:
    path: str
    reason: str


@dataclass(frozen=True)
class SyncReport:
    collection: str
    files: int
    added: int
    updated: int
    removed: int
    unchanged: int
    skipped: tuple[SkippedFile, ...]
    chunks: int
    version: int | None
    seconds: float
    embedded: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)


@dataclass
class _Pending:
    chunks: list[Chunk] = field(default_factory=list)
    reuse: dict[int, str] = field(default_factory=dict)  # position → id holding the vector


ProgressFn = Callable[[int, int], None]  # (files done, files total)


def iter_files(paths: Sequence[Path]) -> Iterator[tuple[Path, str]]:
    """(absolute path, display path) for every supported file; hidden dirs are skipped."""
    roots = [p.resolve() for p in paths]
    prefix_roots = len(roots) > 1
    for root in roots:
        if not root.exists():
            raise KnowledgeError(f"Path not found: {root}")
        if root.is_file():
            yield root, root.name
            continue
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = sorted(
                d for d in dirnames if not d.startswith(".") and d not in _IGNORED_DIRS
            )
            for name in sorted(filenames):
                p = Path(dirpath) / name
                if name.startswith(".") or not supported(p):
                    continue
                rel = p.relative_to(root).as_posix()
                yield p, f"{root.name}/{rel}" if prefix_roots else rel


def _file_hash(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


def sync_collection(
    store: KnowledgeStore,
    embedder: Embedder,
    collection: str,
    paths: Sequence[Path],
    *,
    batch_size: int = 256,
    max_chars: int | None = None,
    progress: ProgressFn | None = None,
) -> SyncReport:
    started = time.perf_counter()
    files = list(iter_files(paths))
    table = store.writer(collection)
    state = store.scan(table, ["id", "source", "text_hash", "file_hash"])
    ids = state.column("id").to_pylist()
    sources = state.column("source").to_pylist()
    text_hashes = state.column("text_hash").to_pylist()
    file_hashes = state.column("file_hash").to_pylist()
    existing: dict[str, str] = dict(zip(ids, text_hashes, strict=True))
    by_text: dict[str, str] = dict(zip(text_hashes, ids, strict=True))
    by_source: dict[str, list[str]] = {}
    source_hashes: dict[str, set[str]] = {}
    for cid, src, fh in zip(ids, sources, file_hashes, strict=True):
        by_source.setdefault(src, []).append(cid)
        source_hashes.setdefault(src, set()).add(fh)

    seen: set[str] = set()
    skipped: list[SkippedFile] = []
    added = updated = unchanged = embedded = 0
    pending = _Pending()

    def flush() -> None:
        nonlocal embedded
        if not pending.chunks:
            return
        to_embed = [i for i in range(len(pending.chunks)) if i not in pending.reuse]
        vectors: list[np.ndarray | None] = [None] * len(pending.chunks)
        if to_embed:
            fresh = embedder.embed_documents([pending.chunks[i].search_text for i in to_embed])
            for i, v in zip(to_embed, fresh, strict=True):
                vectors[i] = v
            embedded += len(to_embed)
        if pending.reuse:
            old = store.vectors_for(table, set(pending.reuse.values()))
            for i, src_id in pending.reuse.items():
                vec = old.get(src_id)
                if vec is None:  # vanished meanwhile: embed after all
                    vec = embedder.embed_documents([pending.chunks[i].search_text])[0]
                    embedded += 1
                vectors[i] = vec
        store.upsert(table, pending.chunks, [v for v in vectors if v is not None])
        pending.chunks.clear()
        pending.reuse.clear()

    for n, (path, rel) in enumerate(files, start=1):
        try:
            data = path.read_bytes()
        except OSError as exc:
            skipped.append(SkippedFile(rel, f"cannot read file ({exc.strerror or exc})"))
            seen.update(by_source.get(rel, ()))  # keep what we had rather than lose it
            continue
        fhash = _file_hash(data)
        if source_hashes.get(rel) == {fhash}:
            old_ids = by_source[rel]
            seen.update(old_ids)
            unchanged += len(old_ids)
            if progress:
                progress(n, len(files))
            continue
        try:
            doc = load_document(path, rel)
            mtime = datetime.fromtimestamp(path.stat().st_mtime, tz=UTC).isoformat()
            kwargs = {"max_chars": max_chars} if max_chars else {}
            chunks = list(
                chunk_document(
                    doc, collection=collection, file_hash=fhash, updated_at=mtime, **kwargs
                )
            )
        except LoadError as exc:
            log.warning("skipped %s", exc)
            skipped.append(SkippedFile(rel, exc.reason))
            seen.update(by_source.get(rel, ()))
            continue
        for chunk in chunks:
            seen.add(chunk.id)
            old_hash = existing.get(chunk.id)
            if old_hash is None:
                added += 1
            elif old_hash != chunk.text_hash:
                updated += 1
            else:
                unchanged += 1
            if old_hash == chunk.text_hash:
                # Same text, new line span or file hash: rewrite the row, keep the vector.
                pending.reuse[len(pending.chunks)] = chunk.id
            elif chunk.text_hash in by_text:
                pending.reuse[len(pending.chunks)] = by_text[chunk.text_hash]
            pending.chunks.append(chunk)
        if len(pending.chunks) >= batch_size:
            flush()
        if progress:
            progress(n, len(files))
    flush()

    stale = [cid for cid in ids if cid not in seen]
    if stale:
        store.delete_ids(table, stale)
    published = store.published_version(collection)
    wrote = bool(added or updated or stale or embedded) or int(table.version) != published
    total = table.count_rows()
    if total == 0 and not files:
        raise KnowledgeError(
            "No supported documents found (Markdown, reStructuredText, HTML, text, PDF) in: "
            + ", ".join(str(p) for p in paths)
        )
    version = store.publish(collection, table) if wrote or published is None else published
    return SyncReport(
        collection=collection,
        files=len(files),
        added=added,
        updated=updated,
        removed=len(stale),
        unchanged=unchanged,
        skipped=tuple(skipped),
        chunks=total,
        version=version,
        seconds=time.perf_counter() - started,
        embedded=embedded,
    )


def chunks_in(paths: Iterable[Path]) -> Iterator[Chunk]:
    """Every chunk the given paths produce (for benchmarks and vocabulary building)."""
    for path, rel in iter_files(list(paths)):
        try:
            doc = load_document(path, rel)
        except LoadError:
            continue
        yield from chunk_document(doc, collection="-", file_hash="", updated_at="")
