"""One loader per format. Each turns a file into heading-scoped sections with line spans.

Line spans are 1-based and inclusive, so a citation can point at `path:start-end`.
PDFs have no stable lines: their span is the page range instead.
"""

from __future__ import annotations

import gzip
import logging
import re
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import yaml

from knowledge.asciidoc import adoc_inline, asciidoc_headings, is_markup
from knowledge.documents import LoadedDoc, Section, document_name
from knowledge.errors import LoadError

log = logging.getLogger(__name__)

MAX_FILE_BYTES = 20 * 1024 * 1024

Loader = Callable[[str, str], LoadedDoc]

_ATX = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")
_RST_ADORNMENT = re.compile(r"^([=\-`:'\"~^_*+#<>.])\1{2,}\s*$")
# Inline markup in a reStructuredText title: a Sphinx role (":mod:`collections`",
# ":class:`~a.B`", ":ref:`text <target>`") or a literal (``x``).
_RST_ROLE = re.compile(r":([\w.+-]+(?::[\w.+-]+)*):`[~!]?([^`<]+?)\s*(?:<[^`>]*>)?`")
_RST_LITERAL = re.compile(r"``([^`]+)``")
# A hyperlink with its target inline: `"memoize" <https://…>`_ reads as its text.
_RST_LINK = re.compile(r"(?<![`:])`([^`<]+?)\s*<[^`>]+>`__?")
_PROSE_ROLES = {"ref": "", "doc": "", "term": "", "abbr": "", "pep": "PEP ", "rfc": "RFC "}


def _role(m: re.Match[str]) -> str:
    role, text = m.group(1).split(":")[-1], m.group(2)
    return _PROSE_ROLES[role] + text if role in _PROSE_ROLES else f"`{text}`"


def rst_inline(text: str) -> str:
    """reStructuredText inline markup as a reader sees it rendered: code roles and
    literals as `code`, links (`:ref:`, `:doc:`, `:term:`, `text <url>`_) as their text."""
    return _RST_LITERAL.sub(r"`\1`", _RST_ROLE.sub(_role, _RST_LINK.sub(r"\1", text)))


def rst_title(text: str) -> str:
    """A title as a reader sees it rendered (`rst_inline`, and Sphinx's `---` as a
    dash). Citations show it and the embedded text starts with it."""
    return rst_inline(text).replace(" --- ", " — ")


def _read_text(path: Path, rel: str) -> str:
    try:
        data = _gunzip(path, rel) if path.name.lower().endswith(".gz") else path.read_bytes()
    except OSError as exc:
        raise LoadError(rel, f"cannot read file ({exc.strerror or exc})") from exc
    if not data.strip():
        raise LoadError(rel, "empty file")
    if b"\x00" in data[:8192]:
        raise LoadError(rel, "binary content (NUL bytes); not a text document")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise LoadError(rel, f"not valid UTF-8 text (byte {exc.start})") from exc
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _gunzip(path: Path, rel: str) -> bytes:
    """A gzipped document's text, read no further than MAX_FILE_BYTES: a small file may
    unpack to gigabytes."""
    try:
        with gzip.open(path, "rb") as f:
            data = f.read(MAX_FILE_BYTES + 1)
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise LoadError(rel, f"not a readable gzip file ({exc})") from exc
    if len(data) > MAX_FILE_BYTES:
        limit = MAX_FILE_BYTES / (1024 * 1024)
        raise LoadError(rel, f"unpacks to more than {limit:g} MiB")
    return data


def _stem(rel: str) -> str:
    """A file's name without its suffixes, a title of last resort (`run` of `run.md.gz`)."""
    return Path(document_name(rel)).stem


def _sections_from_headings(
    lines: list[str], headings: list[tuple[int, int, str, int]]
) -> list[Section]:
    """Cut `lines` at headings: (line index, level, text, lines the heading occupies)."""
    sections: list[Section] = []
    trail: list[tuple[int, str]] = []
    boundaries = [*headings, (len(lines), 0, "", 0)]
    prev_end = 0
    prev_trail: tuple[str, ...] = ()
    for idx, level, text, span in boundaries:
        body = lines[prev_end:idx]
        _append_section(sections, prev_trail, body, prev_end)
        if level:
            while trail and trail[-1][0] >= level:
                trail.pop()
            trail.append((level, text))
        prev_trail = tuple(t for _, t in trail)
        prev_end = idx + span
    return sections


def _append_section(
    sections: list[Section], trail: tuple[str, ...], body: list[str], first_index: int
) -> None:
    start = 0
    while start < len(body) and not body[start].strip():
        start += 1
    end = len(body)
    while end > start and not body[end - 1].strip():
        end -= 1
    if start >= end:
        return
    text = "\n".join(body[start:end])
    sections.append(Section(trail, text, first_index + start + 1, first_index + end))


def _front_matter(text: str, rel: str) -> tuple[dict[str, object], int]:
    """Return (metadata, number of lines it occupies)."""
    if not text.startswith("---\n"):
        return {}, 0
    end = text.find("\n---", 4)
    if end == -1:
        raise LoadError(rel, "front matter opened with '---' is never closed")
    block = text[4:end]
    try:
        meta = yaml.safe_load(block) or {}
    except yaml.YAMLError as exc:
        raise LoadError(rel, f"invalid YAML front matter ({exc.__class__.__name__})") from exc
    if not isinstance(meta, dict):
        raise LoadError(rel, "front matter is not a mapping of keys to values")
    return meta, block.count("\n") + 2


# Inline HTML elements only: `<name>` or `<image>` in a heading is a placeholder the
# reader must see (docker-doc writes them), not a tag.
_INLINE_TAG = re.compile(
    r"</?(?:a|abbr|b|br|code|del|em|i|img|ins|kbd|mark|s|small|span|strong|sub|sup|tt|u)"
    r"(?:\s[^<>]*)?/?>",
    re.IGNORECASE,
)


def _heading_text(raw: str) -> str:
    """A Markdown heading as a reader sees it: inline HTML (`<a name="memory"></a>`, an
    anchor docker-doc puts in 159 headings) is markup, not words to cite or embed."""
    text = " ".join(_INLINE_TAG.sub(" ", raw).split())
    return text or raw.strip()


def load_markdown(path_str: str, rel: str) -> LoadedDoc:
    text = _read_text(Path(path_str), rel)
    meta, skip = _front_matter(text, rel)
    lines = text.split("\n")
    headings: list[tuple[int, int, str, int]] = []
    in_fence = False
    for i in range(skip, len(lines)):
        line = lines[i]
        if _FENCE.match(line):
            in_fence = not in_fence
            continue
        if in_fence:
            continue
        m = _ATX.match(line)
        if m:
            headings.append((i, len(m.group(1)), _heading_text(m.group(2)), 1))
        elif (
            i + 1 < len(lines)
            and line.strip()
            and re.fullmatch(r"(=+|-+)\s*", lines[i + 1])
            and not line.startswith(("-", "*", ">", "|"))
        ):
            headings.append((i, 1 if lines[i + 1][0] == "=" else 2, _heading_text(line), 2))
    sections = _sections_from_headings(lines[:], [(i, lv, t, s) for i, lv, t, s in headings])
    sections = [s for s in sections if s.line_start > skip]
    title = str(meta.get("title") or "").strip()
    if not title:
        h1 = [t for _, lv, t, _ in headings if lv == 1]
        title = h1[0] if h1 else _stem(rel).replace("-", " ").replace("_", " ")
    return _finish(rel, title, sections)


def load_rst(path_str: str, rel: str) -> LoadedDoc:
    text = _read_text(Path(path_str), rel)
    lines = text.split("\n")
    styles: list[tuple[str, bool]] = []
    headings: list[tuple[int, int, str, int]] = []
    i = 0
    while i < len(lines) - 1:
        line, nxt = lines[i], lines[i + 1]
        over = _RST_ADORNMENT.match(line)
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
            and _RST_ADORNMENT.match(nxt)
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
    sections = _sections_from_headings(lines, headings)
    title = headings[0][2] if headings else _stem(rel)
    return _finish(rel, title, sections)


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

    text = _read_text(Path(path_str), rel)
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
        title = h1.get_text(" ", strip=True) if h1 else _stem(rel)
    return _finish(rel, title, sections)


def load_text(path_str: str, rel: str) -> LoadedDoc:
    """Plain text or AsciiDoc (git's own docs are AsciiDoc in `.txt` files), kept whole
    and titled by its AsciiDoc document title when it opens with one (knowledge.asciidoc
    says why it is not cut at its section titles)."""
    text = _read_text(Path(path_str), rel)
    lines = text.split("\n")
    sections: list[Section] = []
    _append_section(sections, (), lines, 0)
    heading = next(asciidoc_headings(lines), None)
    top = heading[2] if heading and heading[1] == 1 else ""
    first = next((ln.strip() for ln in lines if ln.strip()), "")
    # An AsciiDoc fragment meant for inclusion (`diff-options.txt`) opens with a comment
    # or a directive: its file name says more than that line.
    title = top or (first if first and not is_markup(first) else _stem(rel))
    # A title is read, in citations and in the embedded text: git-credential-cache--daemon(1),
    # not git-credential-cache{litdd}daemon(1).
    return _finish(rel, adoc_inline(title)[:120], sections)


def load_pdf(path_str: str, rel: str) -> LoadedDoc:
    from langchain_community.document_loaders import PyPDFLoader

    try:
        pages = PyPDFLoader(path_str).load()
    except Exception as exc:  # pypdf raises many unrelated types for broken files
        raise LoadError(rel, f"unreadable PDF ({exc.__class__.__name__}: {exc})") from exc
    sections = []
    title = ""
    for i, page in enumerate(pages, start=1):
        title = title or str(page.metadata.get("title") or "")
        body = page.page_content.strip()
        if body:
            sections.append(Section((f"Page {i}",), body, i, i))
    if not sections:
        raise LoadError(rel, "PDF has no extractable text (scanned images need OCR first)")
    return _finish(rel, title or _stem(rel), sections)


def _finish(rel: str, title: str, sections: list[Section]) -> LoadedDoc:
    if not sections:
        raise LoadError(rel, "no text content found")
    return LoadedDoc(rel, title, tuple(sections))


LOADERS: dict[str, Loader] = {
    ".md": load_markdown,
    ".markdown": load_markdown,
    ".mdx": load_markdown,
    ".rst": load_rst,
    ".rest": load_rst,
    ".html": load_html,
    ".htm": load_html,
    ".txt": load_text,
    ".adoc": load_text,
    ".asciidoc": load_text,
    ".text": load_text,
    ".pdf": load_pdf,
}


# Sphinx publishes its sources as `name.rst.txt` (e.g. Debian's python3.11-doc).
COMPOUND = {".rst.txt": load_rst, ".md.txt": load_markdown}


def _loader_for(path: Path) -> Loader | None:
    name = document_name(path.name.lower())
    for suffix, loader in COMPOUND.items():
        if name.endswith(suffix):
            return loader
    found = LOADERS.get(Path(name).suffix)
    # pypdf reads the file itself; a gzipped PDF is rare enough to leave out.
    return None if found is load_pdf and name != path.name.lower() else found


def file_type(name: str) -> str:
    """How a file's type is named to users: `.yaml`, `.yaml.gz`, or "no suffix"."""
    parts = Path(name).suffixes
    kind = "".join(parts[-2:]) if parts[-1:] == [".gz"] else "".join(parts[-1:])
    return kind.lower() or "no suffix"


def supported(path: Path) -> bool:
    return _loader_for(path) is not None


def load_document(path: Path, rel: str) -> LoadedDoc:
    """Load one file; raises LoadError with a reason a user can act on."""
    loader = _loader_for(path)
    if loader is None:
        raise LoadError(rel, f"unsupported file type '{file_type(path.name)}'")
    check_size(path, rel)
    return loader(str(path), rel)


def check_size(path: Path, rel: str) -> int:
    """The file's size, from `stat` (nothing is read); LoadError past MAX_FILE_BYTES."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise LoadError(rel, f"cannot read file ({exc.strerror or exc})") from exc
    if size > MAX_FILE_BYTES:
        limit = MAX_FILE_BYTES / (1024 * 1024)
        raise LoadError(rel, f"file too large ({size / (1024 * 1024):.0f} MiB > {limit:g} MiB)")
    return size
