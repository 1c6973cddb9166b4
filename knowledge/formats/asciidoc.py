"""AsciiDoc (git's docs, in `.txt` files): a file is kept whole and titled by its document
title (level 1), not by whatever line comes first (an e-mail header in git's howtos, a
comment in a fragment meant for inclusion). The model reads it, and answer lines show
it, as rendered.

Cutting AsciiDoc files into sections at every title, as Markdown is cut, was measured
and not kept: git-doc's short NAME and SYNOPSIS sections became chunks of their own and
fact recall@3 fell from 0.690 to 0.619 (docs/experiments.md, "AsciiDoc cut at every section title").

Git's own docs (Debian's git-doc) are AsciiDoc in `.txt` files, titled the two-line way:

    OPTIONS
    -------

Recognised (the AsciiDoc syntax reference): a one-line title, `= Title` … `====== Title`,
and a two-line title, a line underlined with `=` (document title), `-`, `~`, `^` or `+`
(levels 1 to 4) within two characters of the title's length. Both need a blank line (or
the start of the file) before them. Lines inside delimited blocks (`----` listings,
`....` literals, `====` examples, `++++` passthroughs, `____` quotes, `****` sidebars,
`////` comments) are never titles: a listing's `$ git log` over a rule of dashes is
output, not a section.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from knowledge.documents import LoadedDoc, Section
from knowledge.formats.format import Format
from knowledge.formats.reading import read_text
from knowledge.formats.sections import Heading, append_section, document, name_title
from knowledge.text import Spans

_ONE_LINE = re.compile(r"^(={1,6})[ \t]+(\S.*?)(?:[ \t]+=+)?[ \t]*$")
_UNDERLINE_LEVEL = {"=": 1, "-": 2, "~": 3, "^": 4, "+": 5}
_DELIMITER = re.compile(r"^(-{4,}|\.{4,}|={4,}|\+{4,}|_{4,}|\*{4,}|/{4,})[ \t]*$")
_NOT_A_TITLE = re.compile(r"^(?:[-*.+|/<>\[]|\s|//)")
# An anchor (`[[getting-started]]`) or attribute list (`[source,shell]`) sits on the
# line before a title it belongs to.
_ANCHOR = re.compile(r"^(?:\[\[[^\]]*\]\]|\[[^\]]*\])\s*$")
# Lines that are markup, not a title: a comment, a conditional or include directive,
# an attribute entry, an anchor, a definition term (`--soft::`).
_MARKUP = re.compile(r"^(?://|ifn?def::|endif::|include::|:[\w-]+:|\[\[)|::\s*$|^\[[^\]]*\]\s*$")


def _underlined(title: str, rule: str) -> bool:
    rule = rule.rstrip()
    return (
        len(rule) >= 2
        and rule[0] in _UNDERLINE_LEVEL
        and rule == rule[0] * len(rule)
        and abs(len(rule) - len(title.rstrip())) <= 2
        and any(ch.isalnum() for ch in title)
        and not _NOT_A_TITLE.match(title)
    )


def _after_blank(lines: list[str], i: int) -> bool:
    """Whether line `i` starts a paragraph: a blank line (or the file's start) before
    it, anchors and attribute lists in between allowed."""
    j = i - 1
    while j >= 0 and _ANCHOR.match(lines[j]):
        j -= 1
    return j < 0 or not lines[j].strip()


def is_markup(line: str) -> bool:
    return bool(_MARKUP.search(line.strip()))


def asciidoc_headings(lines: list[str]) -> Iterator[Heading]:
    """The section titles of an AsciiDoc text, in order, found as they are read (a
    caller that wants only the document title stops at the first)."""
    block: str | None = None  # the delimiter that closes the block we are in
    i = 0
    while i < len(lines):
        line = lines[i].rstrip()
        if block is not None:
            block = None if line == block else block
            i += 1
            continue
        after_blank = _after_blank(lines, i)
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        if after_blank and line and _underlined(line, nxt):
            yield (i, _UNDERLINE_LEVEL[nxt[0]], line.strip(), 2)
            i += 2
            continue
        one = _ONE_LINE.match(line) if after_blank else None
        if one:
            yield (i, len(one.group(1)), one.group(2), 1)
        elif _DELIMITER.match(line):
            block = line
        i += 1


# -- inline markup, as a reader sees it rendered ---------------------------------------------

# Git's man-page link macro: `linkgit:git-reset[1]` renders as git-reset(1). Left as is,
# its "[1]" reads as a citation marker (and a model copying it cites passage 1).
_LINKGIT = re.compile(r"\blinkgit:([\w.-]*\w)(?:\[(\d*)\])?")
# AsciiDoc's built-in character attributes: docs write `git-credential-cache{litdd}daemon`
# where `--` would be read as markup.
_CHARACTERS = {
    "litdd": "--", "caret": "^", "tilde": "~", "startsb": "[", "endsb": "]", "plus": "+",
    "empty": "", "apostrophe": "'", "backtick": "`", "nbsp": " ", "sp": " ", "zwsp": "",
    "amp": "&", "lt": "<", "gt": ">", "vbar": "|", "two-colons": "::",
    "two-semicolons": ";;", "cpp": "C++",
}  # fmt: skip
_ATTRIBUTE = re.compile(r"\{(" + "|".join(map(re.escape, _CHARACTERS)) + r")\}")
# Lines a reader never sees rendered: a preprocessor directive (`ifndef::git-log[]`,
# `include::diff-options.txt[]`), a list continuation (a lone `+`, which joins the
# next paragraph to the list item), an anchor (`[[restrict-with-hooks]]`) and a
# comment (`// NEEDSWORK: …`, or a `////` comment block's delimiter line).
ADOC_HIDDEN_LINE = re.compile(
    r"^\s*(?:(?:ifn?def|ifeval|endif|include)::[^\[\s]*\[[^\]\n]*\]|\+|\[\[[^\]\n]*\]\])[ \t]*$"
    r"|^//(?!/)[^\n]*$|^/{4,}[ \t]*$"
)

# Listing and literal block delimiters as a quote sees them (`----`, `....`, `====`).
BLOCK_DELIMITER = re.compile(r"^(-{4,}|\.{4,}|={4,})\s*$")


def hidden_lines(text: str, lines: Spans) -> tuple[set[int], Spans]:
    """Of a passage's `lines` (start, end offsets): the start offsets of the lines a
    reader never sees (`ADOC_HIDDEN_LINE`), which make no quote, a lone `+` ending the
    paragraph before it as a blank line would; and no literal blocks (a delimited block
    is found by `BLOCK_DELIMITER` as the passage is read)."""
    return {s for s, e in lines if ADOC_HIDDEN_LINE.match(text[s:e])}, []


def is_directive_line(line: str) -> bool:
    """An AsciiDoc preprocessor line (`ifndef::git-log[]`): the text on its two sides
    may not even appear together in the rendered page. A lone `+` only continues a
    list item, so a quote may grow across it."""
    return bool(ADOC_HIDDEN_LINE.match(line)) and line.strip() != "+"


def adoc_inline(text: str) -> str:
    """AsciiDoc inline markup as a reader sees it rendered: `linkgit:git-reset[1]` as
    git-reset(1), character attributes (`{litdd}`, `{caret}`) as their characters."""
    text = _LINKGIT.sub(lambda m: f"{m[1]}({m[2]})" if m[2] else m[1], text)
    return _ATTRIBUTE.sub(lambda m: _CHARACTERS[m[1]], text)


def model_view(text: str) -> str:
    """Without the lines a reader never sees and with the inline markup rendered: a
    copied `linkgit:git-push[1]` was taken for a citation of passage 1."""
    return adoc_inline("\n".join(ln for ln in text.split("\n") if not ADOC_HIDDEN_LINE.match(ln)))


def load_asciidoc(path_str: str, rel: str) -> LoadedDoc:
    """The file kept whole (the module says why it is not cut at its section titles),
    titled by its AsciiDoc document title when it opens with one."""
    text = read_text(Path(path_str), rel)
    lines = text.split("\n")
    sections: list[Section] = []
    append_section(sections, (), lines, 0)
    heading = next(asciidoc_headings(lines), None)
    top = heading[2] if heading and heading[1] == 1 else ""
    first = next((ln.strip() for ln in lines if ln.strip()), "")
    # An AsciiDoc fragment meant for inclusion (`diff-options.txt`) opens with a comment
    # or a directive: its file name says more than that line.
    title = top or (first if first and not is_markup(first) else name_title(rel))
    # A title is read, in citations and in the embedded text: git-credential-cache--daemon(1),
    # not git-credential-cache{litdd}daemon(1).
    return document(rel, adoc_inline(title)[:120], sections)


# Git's own docs are AsciiDoc in `.txt` files.
FORMAT = Format(
    "AsciiDoc", (".adoc", ".asciidoc", ".txt"), load_asciidoc, model_view, as_read=adoc_inline
)
