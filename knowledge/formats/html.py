"""HTML: cut at its `h1`…`h6`, read as the page shows it (scripts, styles and
navigation left out), each section with the source lines it spans."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from knowledge.documents import LoadedDoc, Section
from knowledge.formats.format import Format
from knowledge.formats.reading import read_text
from knowledge.formats.sections import document, name_title

# `code` is inline: a block `<pre><code>` breaks at its `pre`, while a `<code>` inside a
# sentence ("Default is <code>False</code>.") used to end the line and cut the sentence.
_HTML_BLOCKS = {
    "p", "li", "pre", "td", "th", "dt", "dd", "blockquote", "div", "section", "tr", "br",
    "table", "ul", "ol", "article", "main",
}  # fmt: skip
_HTML_SKIP = {"script", "style", "noscript", "template", "nav", "head"}


class _HtmlWalk:
    """Cuts an HTML tree into heading-scoped sections, with the source lines they span."""

    def __init__(self) -> None:
        self.sections: list[Section] = []
        self.trail: list[tuple[int, str]] = []
        self.buf: list[str] = []
        self.span: list[int] = []

    def flush(self) -> None:
        body = re.sub(r"[ \t]+", " ", "".join(self.buf))
        body = re.sub(r"\n\s*\n+", "\n\n", body).strip()
        if body and self.span:
            trail = tuple(t for _, t in self.trail)
            self.sections.append(Section(trail, body, min(self.span), max(self.span)))
        self.buf.clear()
        self.span.clear()

    def heading(self, level: int, text: str) -> None:
        self.flush()
        while self.trail and self.trail[-1][0] >= level:
            self.trail.pop()
        self.trail.append((level, text))

    def text(self, s: str, parent_line: int | None) -> None:
        if s.strip():
            if parent_line is not None:
                self.span.append(parent_line + s[: len(s) - len(s.lstrip())].count("\n"))
            self.buf.append(s)

    def walk(self, root: Any) -> list[Section]:
        from bs4 import NavigableString, Tag

        # An explicit stack, not recursion: a hostile or generated page can nest
        # thousands of levels deep, past Python's recursion limit.
        stack: list[tuple[Iterator[Any], str]] = [(iter(root.children), "")]
        while stack:
            children, name = stack[-1]
            child = next(children, None)
            if child is None:
                stack.pop()
                if name in _HTML_BLOCKS:
                    self.buf.append("\n")
            elif isinstance(child, Tag):
                tag = child.name or ""
                if tag in _HTML_SKIP:
                    continue
                if re.fullmatch(r"h[1-6]", tag):
                    self.heading(int(tag[1]), child.get_text(" ", strip=True))
                    continue
                if child.sourceline is not None:
                    self.span.append(child.sourceline)
                stack.append((iter(child.children), tag))
            elif isinstance(child, NavigableString) and type(child) is NavigableString:
                parent = child.parent
                self.text(str(child), parent.sourceline if parent is not None else None)
        self.flush()
        return self.sections


def load_html(path_str: str, rel: str) -> LoadedDoc:
    from bs4 import BeautifulSoup

    text = read_text(Path(path_str), rel)
    soup = BeautifulSoup(text, "html.parser")
    # Sphinx's permalinks: a "¶" after every heading and signature, noise in citations.
    for link in soup.select("a.headerlink"):
        link.decompose()
    root = soup.body or soup
    title_tag = soup.find("title")
    title = title_tag.get_text(" ", strip=True) if title_tag else ""
    sections = _HtmlWalk().walk(root)
    if not title:
        h1 = root.find("h1")
        title = h1.get_text(" ", strip=True) if h1 else name_title(rel)
    return document(rel, title, sections)


FORMAT = Format("HTML", (".html", ".htm"), load_html)
