"""`teamkb index` and `teamkb collections` against hostile conditions, as a user runs them:
two runs at once, files that break parsers, dropping a collection."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from teamkb.cli import main
from tests.conftest import HANDBOOK, ROOT


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch) -> Path:
    (tmp_path / "teamkb.toml").write_text('home = "data"\n[generator]\nbackend = "none"\n')
    monkeypatch.chdir(tmp_path)
    for key in [k for k in os.environ if k.startswith("TEAMKB_")]:
        monkeypatch.delenv(key)
    return tmp_path


def _start(workdir: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "teamkb", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=workdir,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def _run(workdir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    proc = _start(workdir, *args)
    out, err = proc.communicate(timeout=300)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def test_two_index_runs_at_once_publish_each_chunk_once(workdir):
    docs = workdir / "docs"
    shutil.copytree(HANDBOOK, docs)
    runs = [_start(workdir, "index", "docs", "-c", "conc", "--json") for _ in range(2)]
    results = [(p.communicate(timeout=300), p.returncode) for p in runs]
    assert [rc for _, rc in results] == [0, 0], [err for (_, err), _ in results]
    reports = [json.loads(out) for (out, _), _ in results]
    total = reports[0]["chunks"]
    # One run indexed everything; the other waited for it and found nothing to do.
    assert sorted(r["added"] for r in reports) == [0, total]
    assert sorted(r["unchanged"] for r in reports) == [0, total]
    assert {r["chunks"] for r in reports} == {total}

    assert main(["collections", "show", "conc", "--json"]) == 0
    hits = _run(workdir, "search", "how do I roll back", "-c", "conc", "-k", "20", "--json")
    ids = [h["id"] for h in json.loads(hits.stdout)]
    assert len(ids) == len(set(ids)) == 20


def test_files_that_break_parsers_are_skipped_and_the_rest_indexed(workdir):
    docs = workdir / "docs"
    docs.mkdir()
    depth = 10_000
    (docs / "deep.html").write_text(
        "<html><body><h1>Deep</h1>" + "<div>" * depth + "The well is 40 metres deep."
        + "</div>" * depth + "</body></html>"
    )  # fmt: skip
    with open(os.path.join(os.fsencode(docs), b"men\xfc.md"), "wb") as f:
        f.write(b"# Menu\n\nLunch is served at noon.\n")
    (docs / "good.md").write_text("# Parking\n\nVisitors park on level 3 of the garage.\n")

    r = _run(workdir, "index", "docs", "-c", "hostile")
    assert r.returncode == 0 and "Traceback" not in r.stderr
    assert "3 files" in r.stdout and "1 skipped" in r.stdout
    assert "skipped men\\xfc.md: file name is not valid UTF-8" in r.stderr
    strict = _run(workdir, "index", "docs", "-c", "hostile", "--strict")
    assert strict.returncode == 3 and "Traceback" not in strict.stderr

    for query, source in [
        ("where do visitors park", "good.md"),
        ("how deep is the well", "deep.html"),
    ]:
        hits = json.loads(_run(workdir, "search", query, "-c", "hostile", "--json").stdout)
        assert hits[0]["source"] == source


def test_files_of_types_no_loader_reads_are_counted_not_hidden(workdir):
    """Debian's docker-doc ships compose files and changelogs beside its Markdown: the
    run says what it passed over, by type, so a missing document is noticed."""
    import gzip

    docs = workdir / "docs"
    (docs / "compose").mkdir(parents=True)
    (docs / "guide.md").write_text("# Guide\n\nStart the stack with compose up.\n")
    (docs / "api.md.gz").write_bytes(gzip.compress(b"# API\n\nThe API listens on 2375.\n"))
    for n in range(3):
        (docs / "compose" / f"stack{n}.yaml.gz").write_bytes(gzip.compress(b"services: {}\n"))
    (docs / "compose" / "base.yaml").write_text("services: {}\n")
    (docs / "changelog.Debian.gz").write_bytes(gzip.compress(b"docker (1.0) unstable\n"))
    (docs / "copyright").write_text("Format: ...\n")

    r = _run(workdir, "index", "docs", "-c", "types")
    assert r.returncode == 0, r.stderr
    assert "Indexed 2 files" in r.stdout and "0 skipped" in r.stdout
    assert (
        "Not read: 6 files of types teamkb does not load "
        "(.yaml.gz 3, .debian.gz 1, .yaml 1, no suffix 1)"
    ) in r.stdout
    report = json.loads(_run(workdir, "index", "docs", "-c", "types", "--json").stdout)
    assert report["not_read"] == {".yaml.gz": 3, "no suffix": 1, ".debian.gz": 1, ".yaml": 1}
    hits = json.loads(_run(workdir, "search", "which port", "-c", "types", "--json").stdout)
    assert hits[0]["source"] == "api.md.gz"


def test_collections_list_show_and_drop(workdir, capsys, monkeypatch):
    docs = workdir / "docs"
    docs.mkdir()
    (docs / "a.md").write_text("# A\n\nAlpha.\n\n## More\nBeta.\n")
    assert main(["collections"]) == 0
    assert "No collections yet" in capsys.readouterr().out
    assert main(["index", "docs", "-c", "one"]) == 0
    assert main(["index", "docs", "-c", "two"]) == 0
    capsys.readouterr()

    assert main(["collections", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [c["name"] for c in listed] == ["one", "two"]
    assert main(["collections", "show", "one", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["rows"] == 2 and info["model"] == "all-MiniLM-L6-v2" and info["dim"] == 384
    assert info["published_version"] == info["latest_version"] and info["versions"] >= 1
    assert main(["collections", "show", "one"]) == 0
    assert "rows (published):   2" in capsys.readouterr().out

    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    assert main(["collections", "drop", "one"]) == 1  # no --yes, nobody to ask
    assert "pass --yes" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("builtins.input", lambda prompt: "n")
    assert main(["collections", "drop", "one"]) == 1
    assert "Nothing dropped" in capsys.readouterr().out
    assert main(["collections", "drop", "one", "--yes"]) == 0
    assert "Dropped collection 'one' (2 rows)" in capsys.readouterr().out

    assert main(["collections", "list"]) == 0
    out = capsys.readouterr().out
    assert "two" in out and "one" not in out.split("\n", 1)[1]
    assert main(["collections", "show", "one"]) == 1
    assert "No collection 'one'" in capsys.readouterr().err
    assert main(["search", "alpha", "-c", "one"]) == 1  # gone for readers too
