"""reStructuredText (Sphinx's sources among them): cut at its adorned titles, its
inline markup rendered where a reader sees it rendered."""

from __future__ import annotations

import re
from pathlib import Path

from knowledge.documents import LoadedDoc
from knowledge.formats.format import Format
from knowledge.formats.reading import read_text
from knowledge.formats.sections import Heading, by_headings, document, name_title
from knowledge.text import Spans

_ADORNMENT = re.compile(r"^([=\-`:'\"~^_*+#<>.])\1{2,}\s*$")
# Inline markup in a reStructuredText title: a Sphinx role (":mod:`collections`",
# ":class:`~a.B`", ":ref:`text <target>`") or a literal (``x``).
_ROLE = re.compile(r":([\w.+-]+(?::[\w.+-]+)*):`[~!]?([^`<]+?)\s*(?:<[^`>]*>)?`")
_LITERAL = re.compile(r"``([^`]+)``")
# A hyperlink with its target inline: `"memoize" <https://…>`_ reads as its text.
_LINK = re.compile(r"(?<![`:])`([^`<]+?)\s*<[^`>]+>`__?")
_PROSE_ROLES = {"ref": "", "doc": "", "term": "", "abbr": "", "pep": "PEP ", "rfc": "RFC "}


def _role(m: re.Match[str]) -> str:
    role, text = m.group(1).split(":")[-1], m.group(2)
    return _PROSE_ROLES[role] + text if role in _PROSE_ROLES else f"`{text}`"


def rst_inline(text: str) -> str:
    """reStructuredText inline markup as a reader sees it rendered: code roles and
    literals as `code`, links (`:ref:`, `:doc:`, `:term:`, `text <url>`_) as their text."""
    return _LITERAL.sub(r"`\1`", _ROLE.sub(_role, _LINK.sub(r"\1", text)))


def rst_title(text: str) -> str:
    """A title as a reader sees it rendered (`rst_inline`, and Sphinx's `---` as a
    dash). Citations show it and the embedded text starts with it."""
    return rst_inline(text).replace(" --- ", " — ")


# Sphinx directives an answer line may fold in, as the page renders them: a version note
# (".. versionadded:: 3.3" is "New in version 3.3."), and an object's description,
# which shows its signature (".. function:: rmtree(path)" is "rmtree(path)").
_VERSION = re.compile(r"\.\.\s+(versionadded|versionchanged|deprecated)::[ \t]*([\w.]+)")
_VERSION_NOTE = {
    "versionadded": "New in",
    "versionchanged": "Changed in",
    "deprecated": "Deprecated since",
}
_DESCRIBES = re.compile(
    r"\.\.\s+(?:py:)?(?:function|method|classmethod|staticmethod|class|data|attribute"
    r"|decorator|decoratormethod|exception|describe|option|cmdoption|envvar)::[ \t]*"
)


def as_read(text: str) -> str:
    """Roles, links and Sphinx directives as the page renders them."""
    text = _VERSION.sub(lambda m: f"{_VERSION_NOTE[m[1]]} version {m[2]}.", text)
    return rst_inline(_DESCRIBES.sub("", text))


def load_rst(path_str: str, rel: str) -> LoadedDoc:
    text = read_text(Path(path_str), rel)
    lines = text.split("\n")
    styles: list[tuple[str, bool]] = []
    headings: list[Heading] = []
    i = 0
    while i < len(lines) - 1:
        line, nxt = lines[i], lines[i + 1]
        over = _ADORNMENT.match(line)
        # Overlined title: adornment, text, adornment.
        if (
            over
            and i + 2 < len(lines)
            and lines[i + 1].strip()
            and lines[i + 2].strip() == line.strip()
        ):
            style = (line.strip()[0], True)
            title = rst_title(lines[i + 1].strip())
            span = 3
        elif (
            line.strip()
            and not line.startswith((" ", "\t", ".."))
            and _ADORNMENT.match(nxt)
            and len(nxt.rstrip()) >= len(line.rstrip())
        ):
            style = (nxt.strip()[0], False)
            title = rst_title(line.strip())
            span = 2
        else:
            i += 1
            continue
        if style not in styles:
            styles.append(style)
        headings.append((i, styles.index(style) + 1, title, span))
        i += span
    sections = by_headings(lines, headings)
    title = headings[0][2] if headings else name_title(rel)
    return document(rel, title, sections)


# Sphinx publishes its sources as `name.rst.txt` (e.g. Debian's python3.11-doc).
FORMAT = Format("reStructuredText", (".rst", ".rest", ".rst.txt"), load_rst, as_read=as_read)


# reStructuredText markup that a reader never sees rendered: a link target
# (".. _csv-contents:"), a substitution, a directive that only files or formats the page
# (index entries, authors, a table of contents), or an admonition's bare opening line
# (".. seealso::", whose body is content). A directive with an argument that renders
# (".. function:: lru_cache(maxsize=128)", ".. versionadded:: 3.2") is content; a code
# directive's body comes back as a literal block (`_LITERAL_OPENER`).
MARKUP_LINE = re.compile(
    r"^(\s*)\.\.\s+(?:_[^:]*:.*|\|[^|]+\|.*"
    r"|(index|toctree|highlight|sectionauthor|moduleauthor|currentmodule|testsetup"
    r"|code-block|code|sourcecode"
    r"|testcleanup|tabularcolumns|raw|include|contents|meta|default-role|only|module)::.*"
    r"|[\w-]+::\s*)$"
)
_OPTION = re.compile(r"^\s+:[\w-]+:(?:\s|$)")  # ":noindex:", not a role (":pep:`8`")
# What opens a reStructuredText literal block: a paragraph ending in "::" (the block is
# the indented lines after it) or a code directive. AsciiDoc's "--soft::" is a list
# term instead, so this applies to .rst sources only.
_LITERAL_OPENER = re.compile(
    r"^(\s*)(?:\.\.\s+(?:code-block|code|sourcecode|doctest|testcode|testoutput"
    r"|productionlist)::.*|(?!\.\.\s)(?:.*\S)?::)\s*$"
)
_DOCTEST = re.compile(r"^\s*>>>\s")


def hidden_lines(text: str, lines: Spans) -> tuple[set[int], Spans]:
    """Of a passage's `lines` (start, end offsets): the start offsets of the lines a
    reader never sees as prose (markup, or inside a literal block), and the literal
    blocks' (start, end), which are code."""
    literals = sorted(_literal_blocks(text, lines).items())
    inside = {s for s, _ in lines for a, b in literals if a <= s < b}
    return _markup_lines(text, lines) | inside, literals


def _markup_lines(text: str, lines: Spans) -> set[int]:
    """Start offsets of the lines that are reStructuredText markup (`MARKUP_LINE`)."""
    out: set[int] = set()
    directive: tuple[int, bool] | None = None  # (indent, whole body is markup)
    for s, e in lines:
        line = text[s:e]
        if directive is not None:
            indent, whole = directive
            deeper = len(line) - len(line.lstrip()) > indent
            # An index's entries and a toctree's file list are markup too; any other
            # directive's body is content, though its option lines are not.
            if not line.strip():
                directive = directive if whole else None  # options end at a blank line
                continue
            if deeper and (whole or _OPTION.match(line)):
                out.add(s)
                continue
            directive = None
        if m := MARKUP_LINE.match(line):
            out.add(s)
            directive = (len(m.group(1)), bool(m.group(2)))
    return out


def _literal_blocks(text: str, lines: Spans) -> dict[int, int]:
    """{start: end} of each literal block (the indented lines after a "::" paragraph or
    a code directive, its options skipped) and doctest block (">>>" to a blank line)."""
    out: dict[int, int] = {}
    n = 0
    while n < len(lines):
        s, e = lines[n]
        line, n = text[s:e], n + 1
        if _DOCTEST.match(line) and (n == 1 or not text[slice(*lines[n - 2])].strip()):
            last = n - 1
            while n < len(lines) and text[slice(*lines[n])].strip():
                last, n = n, n + 1
            out[s] = lines[last][1]
            continue
        m = _LITERAL_OPENER.match(line)
        if not m:
            continue
        indent, body = len(m.group(1)), list[tuple[int, int]]()
        while n < len(lines):
            row = text[slice(*lines[n])]
            if row.strip() and len(row) - len(row.lstrip()) <= indent:
                break
            if row.strip() and (body or not _OPTION.match(row)):  # options lead
                body.append(lines[n])
            n += 1
        if body:
            out[body[0][0]] = body[-1][1]
    return out
