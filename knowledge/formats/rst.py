"""reStructuredText (Sphinx's sources among them): cut at its adorned titles, its
inline markup rendered where a reader sees it rendered."""

from __future__ import annotations

import re
from pathlib import Path

from knowledge.documents import LoadedDoc
from knowledge.formats.format import Format
from knowledge.formats.reading import read_text
from knowledge.formats.sections import Heading, by_headings, document, name_title

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
