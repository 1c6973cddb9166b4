"""Incremental sync of a docs folder into a collection.

Unchanged files (same content hash) are not even parsed; changed chunks are re-embedded;
chunks whose text merely moved reuse their vector; chunks of vanished files are removed.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from knowledge import formats
from knowledge.chunking import CHUNKING_VERSION, DEFAULT_MAX_CHARS, chunk_document
from knowledge.documents import Chunk
from knowledge.embedding import Embedder
from knowledge.errors import KnowledgeError, LoadError
from knowledge.formats import sphinx
from knowledge.formats.reading import check_size
from knowledge.store import Collection, CollectionWriter

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
    # Files deliberately not indexed (a Sphinx build's rendered copies): not errors.
    left_out: tuple[SkippedFile, ...] = ()
    # Files of types no loader reads, by type, most first: (".yaml", 17). Not errors,
    # but a user missing a document should see that it was passed over.
    not_read: tuple[tuple[str, int], ...] = ()

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)

    def left_out_line(self) -> str:
        """One line on a Sphinx build's pages not indexed, saying which kinds there were."""
        kinds = sphinx.summary([s.reason for s in self.left_out])
        return (
            f"Left out {len(self.left_out)} HTML pages of a Sphinx build: {kinds} "
            "(`--json` lists them)."
        )

    def not_read_line(self, shown: int = 5) -> str:
        """One line on the files no loader reads, by type, so a missing document is seen."""
        counts = self.not_read
        total = sum(n for _, n in counts)
        kinds = ", ".join(f"{kind} {n}" for kind, n in counts[:shown])
        more = f", {len(counts) - shown} more types" if len(counts) > shown else ""
        read = f"{', '.join(formats.NAMES[:-1])} and {formats.NAMES[-1]}"
        return (
            f"Not read: {total} files of types teamkb does not load ({kinds}{more}); "
            f"it reads {read}, also gzipped."
        )


ProgressFn = Callable[[int, int], None]  # (files done, files total)


def iter_files(
    paths: Sequence[Path],
    left_out: list[SkippedFile] | None = None,
    not_read: Counter[str] | None = None,
) -> Iterator[tuple[Path, str]]:
    """(absolute path, display path) for every supported file; hidden dirs are skipped.
    The HTML pages of a Sphinx build that are copies of its indexed sources, or pages
    of links, are not yielded but added to `left_out` (knowledge.formats.sphinx says why).
    Files of types no loader reads are counted by type in `not_read`."""
    roots = [p.resolve() for p in paths]
    prefix_roots = len(roots) > 1
    for root in roots:
        if not root.exists():
            raise KnowledgeError(f"Path not found: {root}")
        if root.is_file():
            yield root, root.name
            continue
        builds: list[Path] = []
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = sorted(
                d for d in dirnames if not d.startswith(".") and d not in _IGNORED_DIRS
            )
            here = Path(dirpath)
            builds = [b for b in builds if b == here or b in here.parents]
            if sphinx.is_build(filenames):
                builds.append(here)
            for name in sorted(filenames):
                p = here / name
                if name.startswith("."):
                    continue
                if formats.of(p) is None:
                    if not_read is not None:
                        not_read[formats.file_type(name)] += 1
                    continue
                rel = p.relative_to(root).as_posix()
                shown = f"{root.name}/{rel}" if prefix_roots else rel
                why = sphinx.left_out(p, builds[-1]) if builds else ""
                if why:
                    if left_out is not None:
                        left_out.append(SkippedFile(shown, why))
                    continue
                yield p, shown


def _file_hash(data: bytes, max_chars: int | None) -> str:
    """The file's bytes and how they are cut into chunks: a new chunk size or loader
    (CHUNKING_VERSION) re-chunks a file whose bytes did not change."""
    digest = hashlib.sha1(data)
    digest.update(f"\0{CHUNKING_VERSION}\0{max_chars or DEFAULT_MAX_CHARS}".encode())
    return digest.hexdigest()


def shown_path(rel: str) -> str:
    """`rel` as valid Unicode: bytes of a file name that are not UTF-8 come out as
    `\\xe9` escapes (os.walk hands them over as lone surrogates, which cannot be
    printed, hashed as UTF-8 or stored)."""
    return os.fsencode(rel).decode("utf-8", "backslashreplace")


@dataclass
class _Snapshot:
    """What the collection holds: the plan diffs the docs against the latest version
    (to reuse what an interrupted run already wrote) and counts changes against the
    published one (what readers will gain)."""

    ids: list[str]
    text_of: dict[str, str]  # chunk id → text hash, latest version
    holder_of: dict[str, str]  # text hash → a chunk id whose vector embeds that text
    by_source: dict[str, list[str]]
    file_hashes: dict[str, set[str]]
    published: dict[str, str]  # chunk id → text hash, published version

    @classmethod
    def read(cls, collection: Collection, writer: CollectionWriter) -> _Snapshot:
        state = writer.rows(["id", "source", "text_hash", "file_hash"])
        ids = state.column("id").to_pylist()
        sources = state.column("source").to_pylist()
        text_hashes = state.column("text_hash").to_pylist()
        by_source: dict[str, list[str]] = {}
        file_hashes: dict[str, set[str]] = {}
        for cid, src, fh in zip(ids, sources, state.column("file_hash").to_pylist(), strict=True):
            by_source.setdefault(src, []).append(cid)
            file_hashes.setdefault(src, set()).add(fh)
        text_of = dict(zip(ids, text_hashes, strict=True))
        published = text_of  # usual case: the latest version is the published one
        if collection.published_version() != writer.version:  # an interrupted run
            pub = collection.published_rows(["id", "text_hash"])
            published = {} if pub is None else dict(zip(*pub.to_pydict().values(), strict=True))
        return cls(
            ids=ids,
            text_of=text_of,
            holder_of=dict(zip(text_hashes, ids, strict=True)),
            by_source=by_source,
            file_hashes=file_hashes,
            published=published,
        )


@dataclass
class _FilePlan:
    """One file's part of the plan: keep its rows, skip it, or write these chunks."""

    keep: list[str] = field(default_factory=list)  # ids whose rows stay as they are
    chunks: list[Chunk] = field(default_factory=list)  # rows to write
    reuse: dict[int, str] = field(default_factory=dict)  # chunk position → id with its vector
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: SkippedFile | None = None

    def count(self, cid: str, text_hash: str, published: dict[str, str]) -> None:
        """Count a chunk as readers will see it: against the published version."""
        old = published.get(cid)
        if old is None:
            self.added += 1
        elif old != text_hash:
            self.updated += 1
        else:
            self.unchanged += 1


def _skip(rel: str, reason: str, snap: _Snapshot) -> _FilePlan:
    # Keep what we had rather than lose it.
    log.warning("skipped %s: %s", shown_path(rel), reason)
    return _FilePlan(keep=snap.by_source.get(rel, []), skipped=SkippedFile(shown_path(rel), reason))


def _read(path: Path, rel: str) -> bytes:
    """The file's bytes, after the checks that need no reading (name, size)."""
    if shown_path(rel) != rel:
        raise LoadError(rel, "file name is not valid UTF-8; rename the file to index it")
    check_size(path, rel)  # before reading: a huge file is never loaded into memory
    try:
        return path.read_bytes()
    except OSError as exc:
        raise LoadError(rel, f"cannot read file ({exc.strerror or exc})") from exc


def _chunks(
    path: Path, rel: str, fhash: str, collection: str, max_chars: int | None
) -> list[Chunk]:
    try:
        doc = formats.load_document(path, rel)
        mtime = datetime.fromtimestamp(path.stat().st_mtime, tz=UTC).isoformat()
        kwargs = {"max_chars": max_chars} if max_chars else {}
        return list(
            chunk_document(doc, collection=collection, file_hash=fhash, updated_at=mtime, **kwargs)
        )
    except (LoadError, OSError):
        raise
    except Exception as exc:
        # Any other failure is this one file's (a parser bug, a pathological document):
        # report and skip it; one bad file must not stop a run over thousands.
        log.debug("loading %s failed", shown_path(rel), exc_info=True)
        detail = f"{exc.__class__.__name__}: {exc}"[:200]
        raise LoadError(rel, f"could not be parsed ({detail})") from exc


def _plan_file(
    path: Path, rel: str, snap: _Snapshot, collection: str, max_chars: int | None
) -> _FilePlan:
    try:
        fhash = _file_hash(_read(path, rel), max_chars)
        if snap.file_hashes.get(rel) == {fhash}:
            plan = _FilePlan(keep=snap.by_source[rel])
            for cid in plan.keep:
                plan.count(cid, snap.text_of[cid], snap.published)
            return plan
        chunks = _chunks(path, rel, fhash, collection, max_chars)
    except LoadError as exc:
        return _skip(rel, exc.reason, snap)
    except OSError as exc:
        return _skip(rel, f"cannot read file ({exc.strerror or exc})", snap)
    plan = _FilePlan(chunks=chunks)
    for pos, chunk in enumerate(chunks):
        plan.count(chunk.id, chunk.text_hash, snap.published)
        old_hash = snap.text_of.get(chunk.id)
        if old_hash == chunk.text_hash:
            # Same text, new line span or file hash: rewrite the row, keep the vector.
            plan.reuse[pos] = chunk.id
        elif chunk.text_hash in snap.holder_of:
            plan.reuse[pos] = snap.holder_of[chunk.text_hash]
    return plan


class _BatchWriter:
    """Applies the plan in batches: embeds what is new, copies vectors that can be reused.
    A batch fills across files and flushes within one, so a file of thousands of chunks
    is written `batch_size` rows at a time."""

    def __init__(self, writer: CollectionWriter, embedder: Embedder, batch_size: int) -> None:
        self.writer = writer
        self.embedder = embedder
        self.batch_size = batch_size
        self.chunks: list[Chunk] = []
        self.reuse: dict[int, str] = {}
        self.embedded = 0

    def add(self, plan: _FilePlan) -> None:
        for pos, chunk in enumerate(plan.chunks):
            if pos in plan.reuse:
                self.reuse[len(self.chunks)] = plan.reuse[pos]
            self.chunks.append(chunk)
            if len(self.chunks) >= self.batch_size:
                self.flush()

    def flush(self) -> None:
        if not self.chunks:
            return
        vectors: list[np.ndarray | None] = [None] * len(self.chunks)
        fresh = [i for i in range(len(self.chunks)) if i not in self.reuse]
        if self.reuse:
            old = self.writer.vectors_for(set(self.reuse.values()))
            for i, holder in self.reuse.items():
                if holder in old:
                    vectors[i] = old[holder]
                else:  # vanished meanwhile: embed after all
                    fresh.append(i)
        if fresh:
            texts = [self.chunks[i].search_text for i in fresh]
            for i, v in zip(fresh, self.embedder.embed_documents(texts), strict=True):
                vectors[i] = v
            self.embedded += len(fresh)
        self.writer.upsert(self.chunks, [v for v in vectors if v is not None])
        self.chunks = []
        self.reuse = {}


def sync_collection(
    collection: Collection,
    embedder: Embedder,
    paths: Sequence[Path],
    *,
    batch_size: int = 256,
    max_chars: int | None = None,
    progress: ProgressFn | None = None,
) -> SyncReport:
    """Plan each file against what the collection holds (hash diff, vector reuse), apply
    the plan in batches, remove what no file produced any more, then publish. The whole
    run holds the collection's write lock: a second run waits, then plans from what
    this one published."""
    started = time.perf_counter()
    left_out: list[SkippedFile] = []
    not_read: Counter[str] = Counter()
    files = list(iter_files(paths, left_out, not_read))
    if left_out:
        log.info("left out %d pages of Sphinx builds (copies or link lists)", len(left_out))
    with collection.store.lock(collection.name):
        writer = collection.writer()
        snap = _Snapshot.read(collection, writer)
        repaired = 0
        if len(snap.text_of) != len(snap.ids):  # twin ids: see CollectionWriter.dedupe
            repaired = writer.dedupe()
            log.warning("removed %d duplicate rows from '%s'", repaired, collection.name)
            snap = _Snapshot.read(collection, writer)
        batches = _BatchWriter(writer, embedder, batch_size)
        seen: set[str] = set()
        skipped: list[SkippedFile] = []
        added = updated = unchanged = 0
        for n, (path, rel) in enumerate(files, start=1):
            plan = _plan_file(path, rel, snap, collection.name, max_chars)
            seen.update(plan.keep)
            seen.update(c.id for c in plan.chunks)
            added, updated = added + plan.added, updated + plan.updated
            unchanged += plan.unchanged
            if plan.skipped:
                skipped.append(plan.skipped)
            batches.add(plan)
            if progress and not plan.skipped:
                progress(n, len(files))
        batches.flush()
        stale = [cid for cid in snap.ids if cid not in seen]
        wrote = bool(added or updated or stale or batches.embedded or repaired)
        version = _finish(collection, writer, stale, files, paths, wrote=wrote)
    return SyncReport(
        collection=collection.name,
        files=len(files),
        added=added,
        updated=updated,
        removed=sum(1 for cid in snap.published if cid not in seen),
        unchanged=unchanged,
        skipped=tuple(skipped),
        chunks=writer.count(),
        version=version,
        seconds=time.perf_counter() - started,
        embedded=batches.embedded,
        left_out=tuple(left_out),
        not_read=tuple(sorted(not_read.items(), key=lambda kv: (-kv[1], kv[0]))),
    )


def _finish(
    collection: Collection,
    writer: CollectionWriter,
    stale: list[str],
    files: list[tuple[Path, str]],
    paths: Sequence[Path],
    *,
    wrote: bool,
) -> int | None:
    """Delete stale rows and publish, unless nothing changed since the last publish."""
    if stale:
        writer.delete(stale)
    published = collection.published_version()
    if writer.count() == 0 and not files:
        raise KnowledgeError(
            f"No supported documents found ({', '.join(formats.NAMES)}) in: "
            + ", ".join(str(p) for p in paths)
        )
    if wrote or writer.version != published or published is None or writer.fts_index_stale():
        return writer.publish()
    return published


def chunks_in(paths: Iterable[Path]) -> Iterator[Chunk]:
    """Every chunk the given paths produce (for benchmarks and vocabulary building)."""
    for path, rel in iter_files(list(paths)):
        try:
            doc = formats.load_document(path, rel)
        except LoadError:
            continue
        yield from chunk_document(doc, collection="-", file_hash="", updated_at="")
