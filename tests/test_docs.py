"""The manual names only what is there: every repository path written as a code span in
README.md and docs/ exists, every docs page a code comment points at exists, the README
stays a front door, and its test command is the one CI runs."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

from tests.conftest import ROOT

PAGES = sorted(
    [ROOT / "README.md", *(ROOT / "docs").glob("*.md"), *(ROOT / "docs" / "decisions").glob("*.md")]
)
TOP = ("knowledge", "engine", "state", "bot", "lsp", "finetune", "teamkb", "bench", "tests",
       "deploy", "editors", "examples", "scripts", "docs")  # fmt: skip
# A code span that starts with a top-level folder and a slash: `knowledge/text.py`,
# `deploy/systemd/`, `bench/soak.py --minutes 30` (the path is the first word). A path
# names a file (its last part has a suffix) or a folder (it ends in a slash): `teamkb/ask`
# is the language server's request, not a path. A removed script is written with the
# commit that still has it (`0571612:bench/tail_vectors.py`), so it is not matched.
CODE_SPAN = re.compile(r"`([^`\n]+)`")
REPO_PATH = re.compile(rf"^(?:{'|'.join(TOP)})/[\w.\-/]*")
# An experiment whose script was removed names the script that git history keeps.
REMOVED = "script removed"
# Product code that points at a docs page: docs/<page>.md, optionally #anchor.
DOCS_LINK = re.compile(r"docs/([\w\-/]+\.md)(?:#([\w\-]+))?")
PRODUCT = ("engine", "knowledge", "state", "bot", "lsp", "finetune", "teamkb", "bench")


def repo_paths(text: str, *, experiments: bool = False) -> list[tuple[int, str]]:
    """(line number, path) for each code span of `text` that names a repository path;
    in the experiments page (`experiments`), a row that says its script was removed
    may name it."""
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        for span in CODE_SPAN.findall(line):
            match = REPO_PATH.match(span.strip())
            path = match.group().rstrip(".") if match else ""
            if not path or not (path.endswith("/") or "." in path.rsplit("/", 1)[-1]):
                continue
            if not (experiments and REMOVED in line and path.startswith("bench/")):
                found.append((number, path))
    return found


def missing(paths: list[tuple[int, str]]) -> list[str]:
    return [f"line {n}: {p}" for n, p in paths if not (ROOT / p).exists()]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_each_path_a_page_names_exists(page):
    text = page.read_text(encoding="utf-8")
    assert missing(repo_paths(text, experiments=page.name == "experiments.md")) == []


def test_a_wrong_path_is_caught():
    text = "Words live in `knowledge/text.py` and `knowledge/words.py`.\n"
    paths = repo_paths(text)
    assert paths == [(1, "knowledge/text.py"), (1, "knowledge/words.py")]
    assert missing(paths) == ["line 1: knowledge/words.py"]
    # Only a removed experiment's row may name a script that is gone.
    row = "| x | `bench/gone.py` | script removed; in git history |"
    assert repo_paths(row, experiments=True) == []
    assert missing(repo_paths(row)) == ["line 1: bench/gone.py"]
    assert repo_paths("`0571612:bench/gone.py` and the `teamkb/ask` request") == []
    assert missing(repo_paths("| x | `bench/gone.py` | kept |")) == ["line 1: bench/gone.py"]


# A dotted name in the layers the redesign moved (`knowledge.text.stems`,
# `state.FeedbackStore`): the module and the name in it exist.
DOTTED = re.compile(r"^(?:engine|knowledge|state)(?:\.\w+)+$")


def unresolved(text: str) -> list[str]:
    wrong = []
    for span in CODE_SPAN.findall(text):
        if not DOTTED.match(span) or span.endswith(".py"):  # `engine.py` is a file name
            continue
        parts = span.split(".")
        for cut in range(len(parts), 0, -1):
            try:
                found: object = importlib.import_module(".".join(parts[:cut]))
            except ImportError:
                continue
            for name in parts[cut:]:
                found = getattr(found, name, None)
            if found is None:
                wrong.append(span)
            break
    return wrong


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_each_dotted_name_a_page_names_exists(page):
    assert unresolved(page.read_text(encoding="utf-8")) == []


def test_a_wrong_dotted_name_is_caught():
    text = "`knowledge.text.stems` `state.FeedbackStore` `engine.terms.stems` `engine.cache`"
    text += " in `engine.py`"
    assert unresolved(text) == ["engine.terms.stems", "engine.cache"]


def _anchors(page: Path) -> set[str]:
    """The heading anchors MkDocs makes for `page` (lower case, spaces to dashes)."""
    anchors = set()
    for line in page.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            title = re.sub(r"[^\w\- ]", "", line.lstrip("#").strip().lower())
            anchors.add(re.sub(r"[\s]+", "-", title.strip()))
    return anchors


def test_each_docs_page_a_code_comment_names_exists():
    links = []
    for package in PRODUCT:
        for source in sorted((ROOT / package).rglob("*.py")):
            text = source.read_text(encoding="utf-8")
            links += [(source, *m.groups()) for m in DOCS_LINK.finditer(text)]
    assert links, "the product cites its docs pages"
    wrong = []
    for source, page, anchor in links:
        target = ROOT / "docs" / page
        if not target.exists():
            wrong.append(f"{source.relative_to(ROOT)}: docs/{page}")
        elif anchor and anchor not in _anchors(target):
            wrong.append(f"{source.relative_to(ROOT)}: docs/{page}#{anchor}")
    assert wrong == []


def test_the_readme_is_a_front_door():
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 250


def test_the_readme_test_command_is_what_ci_runs():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").strip().splitlines()[-1]
    readme = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert ci.startswith("scripts/setup.sh dev && ")
    assert ci in readme
