"""The engine asks the formats (knowledge.formats) how a source reads: every suffix
the loaders accept gets its format's rules, for quoting as for rendering (a `.rest`
file loads as reStructuredText, so it is quoted as reStructuredText too)."""

from __future__ import annotations

import pytest

from engine.evidence import is_rst, passage_sentences
from engine.rendering import as_read, is_asciidoc, model_view
from knowledge import formats

MARKUP = (
    ".. versionadded:: 3.2\n"
    "Use :mod:`os` or ``run --fast``, see linkgit:git-push[1] and a{litdd}b.\n"
    "// NEEDSWORK: a comment\n"
    "Run it like this::\n\n    deploy --fast\n\nThen stop.\n"
)


@pytest.mark.parametrize("fmt", formats.FORMATS, ids=lambda f: f.name)
def test_every_suffix_of_a_format_is_read_by_its_rules(fmt):
    first = f"guide{fmt.suffixes[0]}"
    for suffix in fmt.suffixes:
        sources = [f"guide{suffix}"] + ([f"guide{suffix}.gz"] if fmt.gzipped else [])
        for source in sources:
            assert is_rst(source) == (fmt is formats.rst.FORMAT), source
            assert is_asciidoc(source) == (fmt is formats.asciidoc.FORMAT), source
            assert model_view(MARKUP, source) == model_view(MARKUP, first), source
            assert as_read(MARKUP, source) == as_read(MARKUP, first), source


def test_each_format_reads_its_own_markup_and_no_other():
    asciidoc, rst = model_view(MARKUP, "git-log.txt"), as_read(MARKUP, "guide.rst")
    # AsciiDoc: the comment is hidden from the model, cross references and attributes render.
    assert "NEEDSWORK" not in asciidoc and "see git-push(1) and a--b." in asciidoc
    assert ":mod:`os`" in asciidoc  # a Sphinx role is no AsciiDoc markup
    # reStructuredText, as a reader sees it: the version note and the roles render.
    assert rst.startswith("New in version 3.2.\nUse `os` or `run --fast`, see linkgit:")
    # Markdown, HTML's text and plain text: shown as written.
    for source in ("guide.md", "page.html", "notes.text"):
        assert model_view(MARKUP, source) == as_read(MARKUP, source) == MARKUP, source


def test_a_rest_file_is_quoted_as_restructured_text():
    units = passage_sentences(MARKUP, rst=is_rst("guide.rest"))
    assert is_rst("guide.rest") and is_rst("guide.REST.gz")
    assert units == passage_sentences(MARKUP, rst=True) != passage_sentences(MARKUP, rst=False)
    assert [u.text for u in units if u.kind == "code"] == ["deploy --fast"]
    assert as_read(":mod:`os`", "guide.rest") == "`os`"
