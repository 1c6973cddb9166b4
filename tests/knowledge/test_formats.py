"""One lookup decides a file's format: every suffix a format claims, gzipped or not,
whatever its case, is looked up as that format and loaded by its loader."""

from __future__ import annotations

import gzip

import pytest

from knowledge import formats
from knowledge.formats import load_document


@pytest.mark.parametrize("fmt", formats.FORMATS, ids=lambda f: f.name)
def test_every_suffix_a_format_claims_is_that_format(fmt):
    for suffix in fmt.suffixes:
        assert formats.of(f"docs/guide{suffix}") is fmt, suffix
        assert formats.of(f"docs/GUIDE{suffix.upper()}") is fmt, suffix
        assert formats.of(f"docs/guide{suffix}.gz") is (fmt if fmt.gzipped else None), suffix


def test_no_suffix_is_claimed_by_two_formats():
    claimed = [suffix for f in formats.FORMATS for suffix in f.suffixes]
    assert len(claimed) == len(set(claimed))


def test_a_compound_suffix_wins_over_its_last_part():
    assert formats.of("library/os.rst.txt") is formats.rst.FORMAT
    assert formats.of("intro.md.txt.gz") is formats.markdown.FORMAT
    assert formats.of("git-log.txt") is formats.asciidoc.FORMAT
    assert formats.of("api/v1.24.md") is formats.markdown.FORMAT
    assert formats.of("compose.yaml") is None and formats.of("Makefile") is None


@pytest.mark.parametrize("suffix", [".rst", ".rest", ".rst.txt"])
def test_a_rest_file_loads_as_restructured_text(tmp_path, suffix):
    body = b"Deploys\n=======\n\nUse :command:`deploy` to ship.\n"
    for name, data in ((f"d{suffix}", body), (f"d{suffix}.gz", gzip.compress(body))):
        (tmp_path / name).write_bytes(data)
        doc = load_document(tmp_path / name, name)
        assert doc.title == "Deploys" and doc.sections[0].heading == ("Deploys",), name
