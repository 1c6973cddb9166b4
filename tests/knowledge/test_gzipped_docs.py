"""Gzipped documents, as Debian ships its larger docs (docker-doc has 77 of its Markdown
files as `*.md.gz`): read as the format inside, cited by their own path, and bad ones
reported, never indexed as garbage."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pytest

import knowledge.formats.reading as reading
from engine.evidence import is_rst
from engine.rendering import is_asciidoc
from knowledge import formats
from knowledge.errors import LoadError
from knowledge.formats import load_document
from knowledge.store import KnowledgeStore
from knowledge.sync import iter_files, sync_collection
from tests.conftest import HANDBOOK

RUNBOOK = HANDBOOK / "runbooks" / "db-password-rotation.md"


def gzipped(src: Path, dst: Path) -> Path:
    dst.parent.mkdir(parents=True, exist_ok=True)
    with src.open("rb") as f, gzip.open(dst, "wb") as out:
        shutil.copyfileobj(f, out)
    return dst


def test_a_gzipped_markdown_file_loads_as_its_plain_twin(tmp_path):
    packed = gzipped(RUNBOOK, tmp_path / "db-password-rotation.md.gz")
    plain = load_document(RUNBOOK, "db-password-rotation.md")
    doc = load_document(packed, "db-password-rotation.md.gz")
    assert doc.path == "db-password-rotation.md.gz"  # cited as the file on disk
    assert (doc.title, doc.sections) == (plain.title, plain.sections)  # same lines


def test_titles_of_last_resort_drop_both_suffixes(tmp_path):
    # a file-name title: AsciiDoc markup on the first line is never a title
    (tmp_path / "frag.txt").write_text("// a comment\n\nbody of the fragment\n")
    doc = load_document(gzipped(tmp_path / "frag.txt", tmp_path / "frag.txt.gz"), "frag.txt.gz")
    assert doc.title == "frag"


def test_which_gzipped_files_are_documents(tmp_path):
    for name in ("a.md.gz", "b.rst.txt.gz", "c.html.gz", "d.txt.gz"):
        assert formats.of(tmp_path / name) is not None, name
    # Debian's changelogs, a YAML file, a gzipped PDF (pypdf reads files itself)
    for name in ("changelog.gz", "changelog.Debian.gz", "compose.yaml.gz", "e.pdf.gz"):
        assert formats.of(tmp_path / name) is None, name


def test_is_rst_and_asciidoc_see_through_gz():
    assert is_rst("library/os.rst.txt.gz") and not is_rst("run.md.gz")
    assert is_asciidoc("git-log.txt.gz") and not is_asciidoc("library/os.rst.txt.gz")


def test_bad_gzip_files_are_reported(tmp_path, monkeypatch):
    fake = tmp_path / "fake.md.gz"
    fake.write_text("# not gzip at all\n")
    with pytest.raises(LoadError, match="not a readable gzip file"):
        load_document(fake, "fake.md.gz")
    cut = tmp_path / "cut.md.gz"
    cut.write_bytes(gzip.compress(RUNBOOK.read_bytes())[:200])
    with pytest.raises(LoadError, match="not a readable gzip file"):
        load_document(cut, "cut.md.gz")
    # a small file may unpack to gigabytes: reading stops at the size limit
    monkeypatch.setattr(reading, "MAX_FILE_BYTES", 1000)
    bomb = tmp_path / "bomb.md.gz"
    bomb.write_bytes(gzip.compress(b"# Bomb\n" + b"a" * 100_000))
    assert bomb.stat().st_size < 1000
    with pytest.raises(LoadError, match="unpacks to more than"):
        load_document(bomb, "bomb.md.gz")


def test_a_sphinx_page_gzipped_is_left_out_for_its_source(tmp_path):
    build = tmp_path / "html"
    (build / "_sources" / "whatsnew").mkdir(parents=True)
    (build / "objects.inv").write_bytes(b"x")
    (build / "_sources" / "whatsnew" / "changelog.rst.txt").write_text(
        "Changelog\n=========\n\nAll of it.\n"
    )
    gzipped(RUNBOOK, build / "whatsnew" / "changelog.html.gz")  # any content will do
    left: list = []
    kept = [rel for _, rel in iter_files([build], left)]
    assert kept == ["_sources/whatsnew/changelog.rst.txt"]
    assert [(s.path, s.reason) for s in left] == [
        (
            "whatsnew/changelog.html.gz",
            "rendered from _sources/whatsnew/changelog.rst.txt, which is indexed",
        )
    ]


def test_sphinx_viewcode_pages_are_left_out(tmp_path):
    build = tmp_path / "html"
    (build / "_modules" / "django" / "forms").mkdir(parents=True)
    (build / "searchindex.js").write_text("Search.setIndex({})")
    (build / "_modules" / "django" / "forms" / "models.html").write_text(
        "<html><body><pre>eliffieldinself._errors:exclude.append(f.name)</pre></body></html>"
    )
    (build / "topics.html").write_text("<html><body><h1>Forms</h1><p>Forms.</p></body></html>")
    left: list = []
    assert [rel for _, rel in iter_files([build], left)] == ["topics.html"]
    assert [s.path for s in left] == ["_modules/django/forms/models.html"]
    assert "viewcode" in left[0].reason


def test_a_folder_of_gzipped_docs_is_indexed_and_searchable(tmp_path, embedder):
    docs = tmp_path / "docker-doc"
    gzipped(RUNBOOK, docs / "runbooks" / "db-password-rotation.md.gz")
    shutil.copy(HANDBOOK / "runbooks" / "disk-full.md", docs / "disk-full.md")
    (docs / "changelog.Debian.gz").write_bytes(gzip.compress(b"teamkb (1.0) unstable\n"))
    (docs / "broken.md.gz").write_bytes(b"not gzip")
    store = KnowledgeStore(str(tmp_path / "index"))
    report = sync_collection(store.collection("docs"), embedder, [docs])
    # two documents and the broken one; Debian's changelog is no document
    assert report.files == 3 and [s.path for s in report.skipped] == ["broken.md.gz"]
    assert report.chunks > 5
    hits = store.collection("docs").search(
        text="rotate the database password",
        vector=embedder.embed_query("how often do we rotate the database password?"),
        k=1,
    )
    assert hits[0].source == "runbooks/db-password-rotation.md.gz"
    lines = RUNBOOK.read_text().split("\n")[hits[0].lines[0] - 1 : hits[0].lines[1]]
    assert hits[0].text.split("\n")[0].strip() in "\n".join(lines)  # the plain file's lines
