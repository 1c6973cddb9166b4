from pathlib import Path

import pytest

from knowledge import formats
from knowledge.chunking import chunk_document
from knowledge.errors import LoadError
from knowledge.formats import load_document
from knowledge.formats.asciidoc import asciidoc_headings
from tests.conftest import HANDBOOK


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    p = tmp_path / name
    if isinstance(content, bytes):
        p.write_bytes(content)
    else:
        p.write_text(content)
    return p


def test_markdown_front_matter_title_headings_and_line_spans(tmp_path):
    text = (
        "---\ntitle: Deploy guide\nowner: platform\n---\n"
        "# Deploying\n\nIntro line.\n\n## Canary\n\nCanary runs 15 minutes.\n"
        "```bash\n# not a heading\nshipit deploy x\n```\n\n## Rollback\nUse shipit rollback.\n"
    )
    doc = load_document(write(tmp_path, "deploy.md", text), "deploy.md")
    assert doc.title == "Deploy guide"
    heads = [s.heading for s in doc.sections]
    assert heads == [("Deploying",), ("Deploying", "Canary"), ("Deploying", "Rollback")]
    canary = doc.sections[1]
    lines = text.split("\n")
    # The span points at the real lines of the file, fenced code (with its '#') included.
    assert lines[canary.line_start - 1] == "Canary runs 15 minutes."
    assert lines[canary.line_end - 1] == "```"
    rollback = doc.sections[2]
    assert lines[rollback.line_start - 1] == "Use shipit rollback."


def test_markdown_headings_drop_inline_html(tmp_path):
    # Real docker-doc (reference/commandline/run.md): an anchor inside the heading. It
    # headed citations as '<a name="memory"></a> Specify hard limits on memory …'.
    text = (
        "# run\n\n## Examples\n\n"
        '### <a name="memory"></a> Specify hard limits on memory (-m, --memory)\n\n'
        "These parameters always set an upper limit on the memory.\n\n"
        "Setext <b>bold</b> heading\n---\n\nBody.\n\n### <br>\n\nOnly a tag.\n\n"
        "### Run <image> with <a href='#x'>a link</a>\n\nPlaceholders stay.\n"
    )
    doc = load_document(write(tmp_path, "run.md", text), "run.md")
    heads = [s.heading[-1] for s in doc.sections]
    # A heading of nothing but a tag keeps it: an empty heading would say even less.
    assert heads == ["Specify hard limits on memory (-m, --memory)", "Setext bold heading",
                     "<br>", "Run <image> with a link"]  # fmt: skip
    [chunk] = [c for c in chunk_document(doc, collection="c", file_hash="h", updated_at="")
               if "upper limit" in c.text]  # fmt: skip
    assert chunk.search_text.startswith("run › Examples › Specify hard limits on memory")


def test_rst_headings_by_adornment(tmp_path):
    text = (
        "Release train\n=============\n\nTrains leave weekly.\n\n"
        "Cut-off\n-------\n\nTuesday 12:00.\n"
    )
    doc = load_document(write(tmp_path, "train.rst", text), "train.rst")
    assert doc.title == "Release train"
    assert doc.sections[-1].heading == ("Release train", "Cut-off")
    assert text.split("\n")[doc.sections[-1].line_start - 1] == "Tuesday 12:00."


def test_rst_titles_read_as_rendered(tmp_path):
    # Python's docs title their pages ":mod:`collections` --- Container datatypes".
    text = (
        ":mod:`collections` --- Container datatypes\n"
        "===========================================\n\nIntro.\n\n"
        ":class:`~collections.defaultdict` objects, see :ref:`the FAQ <faq>`\n"
        "--------------------------------------------------------------------\n\nBody.\n"
    )
    doc = load_document(write(tmp_path, "collections.rst.txt", text), "collections.rst.txt")
    assert doc.title == "`collections` — Container datatypes"
    assert doc.sections[-1].heading[-1] == "`collections.defaultdict` objects, see the FAQ"


def test_html_title_headings_and_source_lines(tmp_path):
    html = (
        "<html><head><title>Catalog</title><style>p{}</style></head>\n<body>\n"
        "<h1>Services</h1>\n<p>All services.</p>\n<h2>ledger-api</h2>\n"
        "<p>Port 8081, owned by payments.</p>\n<script>var x=1;</script></body></html>\n"
    )
    doc = load_document(write(tmp_path, "c.html", html), "c.html")
    assert doc.title == "Catalog"
    last = doc.sections[-1]
    assert last.heading == ("Services", "ledger-api")
    assert "Port 8081" in last.text and "var x" not in last.text
    assert last.line_start == 6


def test_sphinx_html_reads_as_the_page_does(tmp_path):
    """Django's docs as Debian ships them (Sphinx HTML, no _sources): inline code stays
    in its sentence, and Sphinx's permalinks ("¶") are not part of any heading or text."""
    html = (
        "<html><head><title>Settings</title></head><body>\n"
        '<h2>ALLOWED_HOSTS<a class="headerlink" href="#allowed-hosts">¶</a></h2>\n'
        '<p>Default: <code class="docutils literal"><span class="pre">[]</span></code>'
        " (Empty list)</p>\n"
        '<p>Default is <code class="docutils literal"><span class="pre">False</span></code>.\n'
        'Note that this is different than <code class="docutils literal">null</code>.</p>\n'
        '<pre><code>ALLOWED_HOSTS = ["www.example.com"]\nDEBUG = False</code></pre>\n'
        "</body></html>\n"
    )
    doc = load_document(write(tmp_path, "settings.html", html), "settings.html")
    [section] = doc.sections
    assert section.heading == ("ALLOWED_HOSTS",)
    assert "¶" not in section.text
    assert "Default: [] (Empty list)" in section.text
    assert "Default is False.\nNote that this is different than null." in section.text
    assert 'ALLOWED_HOSTS = ["www.example.com"]\nDEBUG = False' in section.text


def test_plain_text_and_pdf(tmp_path):
    doc = load_document(write(tmp_path, "notes.txt", "Notes\n\nSome text."), "notes.txt")
    assert doc.title == "Notes" and doc.sections[0].line_end == 3
    pdf = _tiny_pdf("Escalate after 15 minutes")
    pdoc = load_document(write(tmp_path, "p.pdf", pdf), "p.pdf")
    assert "Escalate after 15 minutes" in pdoc.sections[0].text
    assert (pdoc.sections[0].line_start, pdoc.sections[0].line_end) == (1, 1)  # page 1


# AsciiDoc as git writes it: a howto opening with e-mail headers, an anchored section,
# a one-line title, and a listing whose output line sits over a rule of dashes.
HOWTO = """From: Junio C Hamano <gitster@pobox.com>
Subject: Re: how to revert a merge

How to revert a faulty merge
============================

[[the-fix]]
The fix
-------
Revert the merge with `git revert -m 1 M`:

------------
$ git log --oneline
a1b2c3d Merge
------------

=== After the revert
Merge the branch again later.
"""


def test_asciidoc_titles_anchors_and_listings():
    lines = HOWTO.split("\n")
    found = [(level, title) for _, level, title, _ in asciidoc_headings(lines)]
    # `a1b2c3d Merge` over `------------` is a listing's output, not a section.
    assert found == [(1, "How to revert a faulty merge"), (2, "The fix"), (3, "After the revert")]


def test_asciidoc_files_are_titled_by_their_document_title(tmp_path):
    howto = load_document(write(tmp_path, "revert.txt", HOWTO), "revert.txt")
    assert howto.title == "How to revert a faulty merge"  # not the From: line
    assert howto.sections[0].line_start == 1 and "git revert -m 1 M" in howto.sections[0].text
    fragment = "// Please don't remove this comment\nifndef::git-log[]\n-p::\n\tGenerate patch.\n"
    path = write(tmp_path, "diff-options.txt", fragment)
    assert load_document(path, "diff-options.txt").title == "diff-options"
    adoc = load_document(write(tmp_path, "guide.adoc", "= Deploy guide\n\nShip it.\n"), "g")
    assert formats.of(tmp_path / "guide.adoc") is formats.asciidoc.FORMAT
    assert adoc.title == "Deploy guide"


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.md", "", "empty file"),
        ("bin.md", b"\x00\x01\x02binary", "binary content"),
        ("latin.md", "caf\xe9".encode("latin-1"), "not valid UTF-8"),
        ("bad.md", "---\ntitle: [unclosed\n---\nbody\n", "invalid YAML front matter"),
        ("broken.pdf", b"%PDF-1.4 this is not a pdf", "PDF"),
    ],
)
def test_bad_files_raise_load_error_with_reason(tmp_path, name, content, reason):
    with pytest.raises(LoadError) as err:
        load_document(write(tmp_path, name, content), name)
    assert reason in err.value.reason and name in str(err.value)


def test_long_sections_split_keep_line_spans_and_stable_ids(tmp_path):
    para = "\n".join(f"Step {i}: run the check number {i} and record it." for i in range(80))
    text = f"# Runbook\n\n## Steps\n\n{para}\n"
    path = write(tmp_path, "r.md", text)
    doc = load_document(path, "r.md")
    chunks = list(chunk_document(doc, collection="c", file_hash="h", updated_at="t"))
    assert len(chunks) > 2
    lines = text.split("\n")
    for c in chunks:
        assert len(c.text) <= 900
        assert c.heading == "Steps"  # the H1 is the title, not repeated in the trail
        first = c.text.split("\n")[0]
        assert lines[c.line_start - 1] == first
    again = list(chunk_document(doc, collection="c", file_hash="h2", updated_at="t"))
    assert [c.id for c in chunks] == [c.id for c in again]
    assert len({c.id for c in chunks}) == len(chunks)


def test_every_handbook_file_loads():
    files = [p for p in HANDBOOK.rglob("*") if p.is_file()]
    assert len(files) >= 20
    for p in files:
        doc = load_document(p, p.relative_to(HANDBOOK).as_posix())
        assert doc.title and doc.sections


def _tiny_pdf(text: str) -> bytes:
    """A valid one-page PDF with `text`, built by hand (offsets computed)."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for i, body in enumerate(objs, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    return out


def test_html_nested_ten_thousand_levels_deep_loads(tmp_path):
    page = tmp_path / "deep.html"
    depth = 10_000
    page.write_text(
        "<html><body><h1>Deep</h1>\n" + "<div>" * depth + "\nBottom of the well.\n"
        + "</div>" * depth + "\n</body></html>\n"
    )  # fmt: skip
    doc = load_document(page, "deep.html")
    assert doc.title == "Deep"
    assert [s.text for s in doc.sections] == ["Bottom of the well."]
    assert doc.sections[0].line_start == 2


def test_a_huge_single_line_becomes_bounded_chunks_citing_its_line(tmp_path):
    from knowledge.chunking import DEFAULT_MAX_CHARS, chunk_document

    page = tmp_path / "dump.txt"
    line = " ".join(f"token{i}" for i in range(40_000))  # ~370 kB, no newline
    page.write_text(f"Title line\n\n{line}\n\nlast line\n")
    doc = load_document(page, "dump.txt")
    chunks = list(chunk_document(doc, collection="c", file_hash="h", updated_at=""))
    assert len(chunks) > 400
    assert all(len(c.text) <= DEFAULT_MAX_CHARS for c in chunks)
    middle = [c for c in chunks if "token20000 " in c.text]
    assert middle and all((c.line_start, c.line_end) == (3, 3) for c in middle)
    assert [(c.line_start, c.line_end) for c in chunks[-2:]] == [(3, 3), (5, 5)]
