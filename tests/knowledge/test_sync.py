"""Sync against a real LanceDB in a temporary folder, with the real embedding model."""

import shutil
from pathlib import Path

import pytest

from knowledge.errors import EmbeddingMismatch, IndexNotFound, KnowledgeError
from knowledge.store import EmbeddingInfo, KnowledgeStore
from knowledge.sync import sync_collection


class CountingEmbedder:
    """The real model, counting how many texts it embeds."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.dim = inner.dim
        self.name = inner.name
        self.embedded = 0

    def embed_documents(self, texts):
        self.embedded += len(texts)
        return self.inner.embed_documents(texts)

    def embed_query(self, text):
        return self.inner.embed_query(text)


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    d = tmp_path / "docs"
    (d / "runbooks").mkdir(parents=True)
    (d / "deploy.md").write_text(
        "# Deploy\n\n## Canary\nCanary runs 15 minutes.\n\n## Rollback\nUse shipit rollback.\n"
    )
    (d / "runbooks" / "disk.md").write_text("# Disk full\n\nDelete old logs in /var/log/app.\n")
    (d / "notes.txt").write_text("Team lunch is on Fridays.\n")
    (d / ".hidden").mkdir()
    (d / ".hidden" / "secret.md").write_text("# Secret\nnot indexed\n")
    (d / "image.png").write_bytes(b"\x89PNG")
    return d


def test_first_run_then_incremental_runs(tmp_path, docs, embedder):
    store = KnowledgeStore(str(tmp_path / "index"))
    emb = CountingEmbedder(embedder)
    r1 = sync_collection(store.collection("team"), emb, [docs])
    assert (r1.files, r1.added, r1.updated, r1.removed, r1.skipped) == (3, 4, 0, 0, ())
    assert emb.embedded == 4 and r1.version is not None

    r2 = sync_collection(store.collection("team"), emb, [docs])
    assert (r2.added, r2.updated, r2.removed, r2.unchanged) == (0, 0, 0, 4)
    assert emb.embedded == 4  # nothing re-embedded
    assert r2.version == r1.version  # nothing written

    # Edit one chunk, insert lines above another (span moves, text does not), drop a file.
    (docs / "deploy.md").write_text(
        "# Deploy\n\nNew intro.\n\n## Canary\nCanary runs 20 minutes.\n\n"
        "## Rollback\nUse shipit rollback.\n"
    )
    (docs / "notes.txt").unlink()
    r3 = sync_collection(store.collection("team"), emb, [docs])
    assert (r3.added, r3.updated, r3.removed) == (1, 1, 1)  # intro added, canary edited, notes gone
    assert emb.embedded == 6  # only the new and the edited chunk
    hits = store.collection("team").search(
        text="rollback", vector=embedder.embed_query("rollback"), k=1
    )
    assert hits[0].heading == "Rollback" and hits[0].lines == (9, 9)


def test_a_new_chunk_size_or_loader_rechunks_unchanged_files(tmp_path, docs, embedder,
                                                             monkeypatch):  # fmt: skip
    store = KnowledgeStore(str(tmp_path / "index"))
    emb = CountingEmbedder(embedder)
    (docs / "long.md").write_text("# Long\n\n" + "A sentence about deploys. " * 60 + "\n")
    r1 = sync_collection(store.collection("team"), emb, [docs])
    r2 = sync_collection(store.collection("team"), emb, [docs], max_chars=300)
    assert r2.chunks > r1.chunks and r2.added > 0  # the long file is cut again
    assert r2.unchanged == 4  # the short files' chunks are the same text, same ids
    # A loader change (CHUNKING_VERSION) re-reads every file; what comes out the same is
    # kept, vector and all: nothing is embedded again.
    before = emb.embedded
    monkeypatch.setattr("knowledge.sync.CHUNKING_VERSION", 999)
    r3 = sync_collection(store.collection("team"), emb, [docs], max_chars=300)
    assert (r3.added, r3.updated, r3.removed, r3.chunks) == (0, 0, 0, r2.chunks)
    assert emb.embedded == before


def test_renamed_file_reuses_vectors(tmp_path, docs, embedder):
    store = KnowledgeStore(str(tmp_path / "index"))
    emb = CountingEmbedder(embedder)
    sync_collection(store.collection("team"), emb, [docs])
    before = emb.embedded
    (docs / "runbooks" / "disk.md").rename(docs / "runbooks" / "disk-full.md")
    r = sync_collection(store.collection("team"), emb, [docs])
    assert (r.added, r.removed) == (1, 1)
    assert emb.embedded == before  # same text elsewhere: vector reused, not recomputed


def test_bad_files_reported_skipped_and_run_goes_on(tmp_path, docs, embedder):
    (docs / "empty.md").write_text("")
    (docs / "binary.md").write_bytes(b"\x00\x00\x00")
    (docs / "bad.md").write_text("---\ntitle: [oops\n---\n# x\n")
    store = KnowledgeStore(str(tmp_path / "index"))
    r = sync_collection(store.collection("team"), embedder, [docs])
    assert sorted(s.path for s in r.skipped) == ["bad.md", "binary.md", "empty.md"]
    assert {s.reason for s in r.skipped} >= {"empty file"}
    assert r.added == 4  # the good files are all there


def test_file_that_turns_bad_keeps_its_last_good_chunks(tmp_path, docs, embedder):
    store = KnowledgeStore(str(tmp_path / "index"))
    sync_collection(store.collection("team"), embedder, [docs])
    (docs / "runbooks" / "disk.md").write_bytes(b"\x00broken")
    r = sync_collection(store.collection("team"), embedder, [docs])
    assert [s.path for s in r.skipped] == ["runbooks/disk.md"] and r.removed == 0
    hits = store.collection("team").search(
        text="logs", vector=embedder.embed_query("delete old logs"), k=1
    )
    assert hits[0].source == "runbooks/disk.md"


def test_crash_mid_run_leaves_published_index_searchable(tmp_path, docs, embedder):
    store = KnowledgeStore(str(tmp_path / "index"))
    first = sync_collection(store.collection("team"), embedder, [docs])
    for i in range(30):
        (docs / f"extra{i}.md").write_text(
            f"# Extra {i}\n\nExtra page number {i} about canaries.\n"
        )
    (docs / "deploy.md").write_text("# Deploy\n\n## Canary\nCanary now runs 99 minutes.\n")
    crash_after_first_batch(store.collection("team"), embedder, docs)
    reader = KnowledgeStore(str(tmp_path / "index"))
    assert reader.collection("team").published_version() == first.version
    hits = reader.collection("team").search(
        text="canary", vector=embedder.embed_query("canary"), k=10
    )
    assert {h.source for h in hits} == {"deploy.md", "runbooks/disk.md", "notes.txt"}
    assert any("15 minutes" in h.text for h in hits)

    # The next run resumes and publishes everything.
    r = sync_collection(store.collection("team"), embedder, [docs])
    assert r.chunks == 3 + 30 and r.version != first.version
    hits = store.collection("team").search(
        text="canary", vector=embedder.embed_query("canary"), k=40
    )
    assert any("99 minutes" in h.text for h in hits)
    assert not any("15 minutes" in h.text for h in hits)


def test_missing_index_and_missing_path(tmp_path, embedder):
    store = KnowledgeStore(str(tmp_path / "index"))
    with pytest.raises(IndexNotFound, match="teamkb index PATH --collection nope"):
        store.collection("nope").search(text="x", vector=embedder.embed_query("x"))
    with pytest.raises(KnowledgeError, match="Path not found"):
        sync_collection(store.collection("team"), embedder, [tmp_path / "missing"])


def test_collections_are_separate_tables(tmp_path, docs, embedder):
    store = KnowledgeStore(str(tmp_path / "index"))
    other = tmp_path / "other"
    other.mkdir()
    shutil.copy(docs / "notes.txt", other / "lunch.txt")
    sync_collection(store.collection("team"), embedder, [docs])
    sync_collection(store.collection("private"), embedder, [other])
    assert store.collections() == ["private", "team"]
    hits = store.collection("private").search(
        text="lunch", vector=embedder.embed_query("lunch"), k=10
    )
    assert {h.source for h in hits} == {"lunch.txt"}


def test_an_index_built_by_another_embedding_model_is_refused(tmp_path, docs, embedder):
    store = KnowledgeStore(str(tmp_path / "index"))
    sync_collection(store.collection("team"), embedder, [docs])
    other = KnowledgeStore(str(tmp_path / "index"), embedding=EmbeddingInfo("bge-small", 384))
    with pytest.raises(EmbeddingMismatch) as err:
        other.collection("team").search(text="x", vector=embedder.embed_query("x"))
    assert str(err.value) == (
        "Collection 'team' was indexed with all-MiniLM-L6-v2 (384 dimensions), but teamkb now "
        "embeds with bge-small (384 dimensions). Index into a new collection, or drop this one "
        "and index again: teamkb index PATH --collection team"
    )
    with pytest.raises(EmbeddingMismatch):
        sync_collection(other.collection("team"), embedder, [docs])


class HashEmbedder:
    """A fast stand-in for tests about bookkeeping, not meaning: one vector per text."""

    dim = 384
    name = "all-MiniLM-L6-v2"

    def embed_documents(self, texts):
        import numpy as np

        out = []
        for t in texts:
            rng = np.random.default_rng(abs(hash(t)) % 2**32)
            v = rng.standard_normal(self.dim).astype("float32")
            out.append(v / np.linalg.norm(v))
        return np.stack(out)

    def embed_query(self, text):
        return self.embed_documents([text])[0]


def crash_after_first_batch(collection, embedder, docs, batch_size: int = 8) -> None:
    """An index run that dies (a power cut) after writing its first batch, unpublished."""

    class Crash(Exception):
        pass

    class CrashingEmbedder(CountingEmbedder):
        def embed_documents(self, texts):
            if self.embedded:
                raise Crash("power cut")
            return super().embed_documents(texts)

    with pytest.raises(Crash):
        sync_collection(collection, CrashingEmbedder(embedder), [docs], batch_size=batch_size)


def test_resumed_run_reports_what_readers_gain(tmp_path, docs):
    store = KnowledgeStore(str(tmp_path / "index"))
    emb = CountingEmbedder(HashEmbedder())
    first = sync_collection(store.collection("team"), emb, [docs])
    for i in range(30):
        (docs / f"extra{i}.md").write_text(f"# Extra {i}\n\nExtra page number {i}.\n")
    crash_after_first_batch(store.collection("team"), emb.inner, docs)
    assert store.collection("team").published_version() == first.version

    r = sync_collection(store.collection("team"), emb, [docs])
    # 8 of the 30 new chunks were written before the crash, never published: readers
    # gain all 30, and the report says so. The 8 are not embedded again.
    assert (r.added, r.updated, r.removed, r.unchanged) == (30, 0, 0, 4)
    assert emb.embedded == 4 + 22


def test_resumed_run_reports_removals_it_did_not_publish(tmp_path, docs):
    store = KnowledgeStore(str(tmp_path / "index"))
    sync_collection(store.collection("team"), HashEmbedder(), [docs])
    writer = store.collection("team").writer()
    notes = writer.rows(["id", "source"]).to_pylist()
    writer.delete([r["id"] for r in notes if r["source"] == "notes.txt"])  # not published
    (docs / "notes.txt").unlink()
    r = sync_collection(store.collection("team"), HashEmbedder(), [docs])
    assert (r.added, r.removed, r.unchanged) == (0, 1, 3)


def test_duplicate_ids_from_older_versions_are_removed(tmp_path, docs):
    store = KnowledgeStore(str(tmp_path / "index"))
    emb = HashEmbedder()
    sync_collection(store.collection("team"), emb, [docs])
    writer = store.collection("team").writer()
    table = writer._table  # what two concurrent runs of an older teamkb left behind
    table.add(table.to_arrow())
    writer.publish()
    assert len(store.collection("team").rows(["id"])) == 8

    r = sync_collection(store.collection("team"), emb, [docs])
    ids = store.collection("team").rows(["id"]).column("id").to_pylist()
    assert len(ids) == len(set(ids)) == 4 == r.chunks
    hits = store.collection("team").search(text="rollback", vector=emb.embed_query("x"), k=8)
    assert len({h.id for h in hits}) == len(hits)


def test_a_long_file_is_written_in_batches(tmp_path, docs, monkeypatch):
    from knowledge.store import CollectionWriter

    body = "\n\n".join(f"## Part {i}\nParagraph {i} of the long page." for i in range(20))
    (docs / "long.md").write_text(f"# Long\n\n{body}\n")
    sizes: list[int] = []
    upsert = CollectionWriter.upsert

    def spy(self, chunks, vectors):
        sizes.append(len(chunks))
        return upsert(self, chunks, vectors)

    monkeypatch.setattr(CollectionWriter, "upsert", spy)
    store = KnowledgeStore(str(tmp_path / "index"))
    r = sync_collection(store.collection("team"), HashEmbedder(), [docs], batch_size=8)
    assert r.added == 24 and sum(sizes) == 24
    assert max(sizes) <= 8 and len(sizes) == 3


def test_file_size_is_checked_before_reading(tmp_path, docs, monkeypatch):
    with open(docs / "huge.md", "wb") as f:
        f.truncate(50 * 1024 * 1024)  # sparse: 50 MB on paper, nothing on disk
    read: list[str] = []
    read_bytes = Path.read_bytes

    def spy(self):
        read.append(self.name)
        return read_bytes(self)

    monkeypatch.setattr(Path, "read_bytes", spy)
    store = KnowledgeStore(str(tmp_path / "index"))
    r = sync_collection(store.collection("team"), HashEmbedder(), [docs])
    assert [(s.path, s.reason) for s in r.skipped] == [
        ("huge.md", "file too large (50 MiB > 20 MiB)")
    ]
    assert read and "huge.md" not in read and r.added == 4


def test_a_file_whose_loader_fails_is_skipped_with_the_reason(tmp_path, docs, monkeypatch):
    from knowledge.formats import asciidoc

    def broken(path, rel):
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(asciidoc, "read_text", broken)  # notes.txt is AsciiDoc
    store = KnowledgeStore(str(tmp_path / "index"))
    r = sync_collection(store.collection("team"), HashEmbedder(), [docs])
    assert [s.path for s in r.skipped] == ["notes.txt"]
    assert "RecursionError" in r.skipped[0].reason and r.added == 3


def test_a_file_name_that_is_not_utf8_is_skipped_and_named_safely(tmp_path, docs):
    import os

    with open(os.path.join(os.fsencode(docs), b"caf\xe9.md"), "wb") as f:
        f.write(b"# Cafe\n\nCoffee is on the third floor.\n")
    store = KnowledgeStore(str(tmp_path / "index"))
    r = sync_collection(store.collection("team"), HashEmbedder(), [docs])
    assert [s.path for s in r.skipped] == ["caf\\xe9.md"]
    assert "not valid UTF-8" in r.skipped[0].reason and r.added == 4
