"""Sphinx HTML builds hold every page twice, and some pages that are only link lists.

A published Sphinx site (Debian's python3.11-doc, any `make html` output) keeps each
authored page as rendered HTML *and* as its source under `_sources/` (`library/os.html`
and `_sources/library/os.rst.txt`). Indexing both puts two renderings of the same
section side by side in the top 3; their text differs (markup against rendered prose),
so near-copy collapse cannot tell them apart. The sources win: they are what the team
wrote, and their line numbers are the ones a quote should point at. A page with no
source copy is kept. Sphinx's generated pages (the general index, the module index, the
search page) are lists of links that match every name and say nothing: left out too.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from pathlib import Path

from knowledge.documents import document_name
from knowledge.formats import html, of

# Written by every Sphinx HTML build (the intersphinx inventory, the search index).
_MARKERS = frozenset({"objects.inv", "searchindex.js"})
SOURCES_DIR = "_sources"
# sphinx.ext.viewcode's highlighted copies of the code (Django's docs have 153 of them):
# code, not docs, and its highlighting spans read back without their spaces.
MODULES_DIR = "_modules"
# `os.html` ← `_sources/os.rst.txt`: the page's source suffix, then Sphinx's
# `html_sourcelink_suffix` (".txt" unless a project sets it to ""). These are the names
# Sphinx gives a source copy, not what teamkb reads (knowledge.formats.of says that).
_SOURCE_SUFFIXES = (".rst.txt", ".md.txt", ".txt", ".rst", ".md")
# Why a page is left out (SkippedFile.reason), and how `summary` counts each kind.
LINKS = "a page Sphinx generates (an index of links)"
CODE = "a page of source code Sphinx generates (viewcode), not documentation"
COPY = "rendered from"
_GENERATED = re.compile(r"(genindex(-.+)?|search|(.+-)?modindex)\.html?", re.IGNORECASE)


def is_build(filenames: Collection[str]) -> bool:
    """Whether a folder with these files is the root of a Sphinx HTML build."""
    return not _MARKERS.isdisjoint(filenames)


def left_out(path: Path, build: Path) -> str:
    """Why the file `path` inside the Sphinx build rooted at `build` is not indexed, or
    '' when it is."""
    if of(path) is not html.FORMAT:
        return ""
    page = Path(document_name(path.name))  # Debian gzips large pages: `changelog.html.gz`
    rel = path.relative_to(build)
    if len(rel.parts) == 1 and _GENERATED.fullmatch(page.name):
        return LINKS
    if rel.parts[0] == SOURCES_DIR:
        return ""
    if rel.parts[0] == MODULES_DIR:
        return CODE
    folder = build / SOURCES_DIR / rel.parent
    for suffix in _SOURCE_SUFFIXES:
        for source in (folder / f"{page.stem}{suffix}", folder / f"{page.stem}{suffix}.gz"):
            if source.is_file():
                shown = source.relative_to(build).as_posix()
                return f"{COPY} {shown}, which is indexed"
    return ""


def summary(reasons: Sequence[str]) -> str:
    """The left-out pages by kind, for one line of an index run's report."""
    copies = sum(1 for r in reasons if r.startswith(COPY))
    kinds = {
        "copies of the sources in its _sources/ (indexed instead)": copies,
        "pages of source code (_modules/)": sum(1 for r in reasons if r == CODE),
        "pages of links": sum(1 for r in reasons if r == LINKS),
    }
    return ", ".join(f"{n} {kind}" for kind, n in kinds.items() if n)
