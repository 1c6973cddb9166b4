"""The `teamkb` command as a user runs it."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from teamkb.cli import main
from tests.conftest import ROOT, cli_workdir


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch) -> Path:
    cli_workdir(tmp_path, "data", monkeypatch)
    return tmp_path


def test_index_search_json_and_reindex(workdir, capsys):
    assert main(["index"]) == 0
    out = capsys.readouterr().out
    assert "Indexed 25 files into 'handbook'" in out and "0 skipped" in out
    assert main(["search", "how do I roll back", "-k", "3", "--json"]) == 0
    hits = json.loads(capsys.readouterr().out)
    assert len(hits) == 3
    assert set(hits[0]) >= {"id", "source", "title", "heading", "lines", "score", "text"}
    assert hits[0]["source"] == "deploys/rollback.md"
    assert main(["index", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["added"] == report["updated"] == report["removed"] == 0
    assert report["unchanged"] == report["chunks"]


def test_skipped_files_are_listed_and_strict_exits_3(workdir, capsys, tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "ok.md").write_text("# OK\nfine\n")
    (docs / "bad.md").write_bytes(b"\x00\x01")
    assert main(["index", str(docs), "--collection", "mixed"]) == 0
    err = capsys.readouterr().err
    assert "skipped bad.md: binary content" in err
    assert main(["index", str(docs), "--collection", "mixed", "--strict"]) == 3


def test_search_before_index_says_how_to_build_one(workdir, capsys):
    assert main(["search", "anything"]) == 1
    assert "teamkb index PATH --collection handbook" in capsys.readouterr().err


def test_ask_without_model_degrades_to_cited_sources(workdir, capsys):
    assert main(["index"]) == 0
    capsys.readouterr()
    assert main(["ask", "how do I roll back a deploy?", "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["degraded"] and answer["citations"]
    assert answer["citations"][0]["source"] == "deploys/rollback.md"
    assert set(answer) >= {"answer", "citations", "abstained", "model", "adapter", "timings"}


def test_env_overrides_config(workdir, capsys, monkeypatch):
    monkeypatch.setenv("TEAMKB_RETRIEVAL_K", "2")
    assert main(["index"]) == 0
    capsys.readouterr()
    assert main(["search", "canary", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 2
    monkeypatch.setenv("TEAMKB_RETRIEVAL_K", "two")
    assert main(["search", "canary"]) == 1
    assert "TEAMKB_RETRIEVAL_K='two' is not a valid int" in capsys.readouterr().err


def test_exit_codes_in_a_real_process(workdir):
    run = lambda *a: subprocess.run(  # noqa: E731
        [sys.executable, "-m", "teamkb", *a],
        capture_output=True,
        text=True,
        cwd=workdir,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    usage = run("search")
    assert usage.returncode == 2 and "usage:" in usage.stderr
    bad = run("--config", "nope.toml", "search", "x")
    assert bad.returncode == 1 and "Config file not found" in bad.stderr
    assert "Traceback" not in bad.stderr


# Heavy libraries the command line must not load to print help or to start the language
# server: LanceDB and pyarrow alone take seconds on a loaded laptop (see docs/editor.md).
HEAVY = ("lancedb", "pyarrow", "numpy", "torch", "sentence_transformers")


@pytest.mark.parametrize(
    ("argv", "also"),
    [
        (["--help"], ""),
        # `serve lsp` up to the server's construction (which starts the load thread).
        (["serve", "lsp"], "import lsp.main, lsp.configuration, lsp.features.hover, "
         "lsp.features.completion, lsp.features.code_lens, lsp.features.commands"),
    ],
)  # fmt: skip
def test_cli_and_language_server_modules_load_without_lancedb(argv, also):
    code = (
        "import sys, teamkb.cli\n"
        f"parser = teamkb.cli.build_parser()\n"
        f"if {argv!r} != ['--help']: parser.parse_args({argv!r})\n"
        f"{also}\n"
        f"print([m for m in {HEAVY!r} if m in sys.modules])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]", out.stdout


def _sphinx_build(html: Path) -> None:
    """What `sphinx-build -b html` writes, in miniature: each page rendered and its source
    copied to _sources/, plus the generated index, search and module-index pages."""
    (html / "_sources" / "ops").mkdir(parents=True)
    (html / "ops").mkdir()
    (html / "objects.inv").write_bytes(b"# Sphinx inventory version 2\n")
    source = "Rotation\n========\n\nThe database password is rotated every 30 days.\n"
    (html / "_sources" / "ops" / "rotation.rst.txt").write_text(source)
    (html / "ops" / "rotation.html").write_text(
        "<html><head><title>Rotation</title></head><body><h1>Rotation</h1>"
        "<p>The database password is rotated every 30 days.</p></body></html>"
    )
    # `deploy.canary.rst.txt` is the source of `deploy.canary.html`, not of `deploy.html`.
    (html / "_sources" / "ops" / "deploy.canary.rst.txt").write_text("Canary\n======\n\n5%.\n")
    (html / "ops" / "deploy.canary.html").write_text("<html><body><p>5%.</p></body></html>")
    (html / "ops" / "deploy.html").write_text("<html><body><p>No source of its own.</p></body>")
    for page in ("genindex.html", "genindex-R.html", "search.html", "py-modindex.html"):
        (html / page).write_text('<html><body><a href="ops/rotation.html">rotated</a></body>')


def test_a_sphinx_build_is_indexed_from_its_sources(workdir, capsys, tmp_path):
    html = tmp_path / "site" / "html"
    _sphinx_build(html)
    assert main(["index", str(tmp_path / "site"), "--collection", "sphinx", "--strict"]) == 0
    out = capsys.readouterr().out
    assert "Indexed 3 files" in out and "0 skipped" in out
    assert (
        "Left out 6 HTML pages of a Sphinx build: 2 copies of the sources in its _sources/ "
        "(indexed instead), 4 pages of links"
    ) in out
    assert main(["search", "how often is the database password rotated", "--collection",
                 "sphinx", "--json"]) == 0  # fmt: skip
    sources = [hit["source"] for hit in json.loads(capsys.readouterr().out)]
    assert sources[0] == "html/_sources/ops/rotation.rst.txt"
    assert sorted(sources) == [
        "html/_sources/ops/deploy.canary.rst.txt", "html/_sources/ops/rotation.rst.txt",
        "html/ops/deploy.html",
    ]  # fmt: skip
    assert main(["index", str(tmp_path / "site"), "--collection", "sphinx", "--json"]) == 0
    left = {e["path"]: e["reason"] for e in json.loads(capsys.readouterr().out)["left_out"]}
    assert left["html/ops/rotation.html"] == (
        "rendered from _sources/ops/rotation.rst.txt, which is indexed"
    )
    assert left["html/genindex-R.html"] == "a page Sphinx generates (an index of links)"
    assert sorted(left) == [
        "html/genindex-R.html", "html/genindex.html", "html/ops/deploy.canary.html",
        "html/ops/rotation.html", "html/py-modindex.html", "html/search.html",
    ]  # fmt: skip
