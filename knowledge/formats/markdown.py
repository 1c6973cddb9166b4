"""Markdown: cut at its ATX (`# Title`) and underlined titles, YAML front matter read
for the title and left out of the text."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from knowledge.documents import LoadedDoc
from knowledge.errors import LoadError
from knowledge.formats.format import Format
from knowledge.formats.reading import read_text
from knowledge.formats.sections import Heading, by_headings, document, name_title

_ATX = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")


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
    text = read_text(Path(path_str), rel)
    meta, skip = _front_matter(text, rel)
    lines = text.split("\n")
    headings: list[Heading] = []
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
    sections = [s for s in by_headings(lines, headings) if s.line_start > skip]
    title = str(meta.get("title") or "").strip()
    if not title:
        h1 = [t for _, lv, t, _ in headings if lv == 1]
        title = h1[0] if h1 else name_title(rel).replace("-", " ").replace("_", " ")
    return document(rel, title, sections)


# Sphinx publishes a MyST source as `name.md.txt` (its html_sourcelink_suffix).
FORMAT = Format("Markdown", (".md", ".markdown", ".mdx", ".md.txt"), load_markdown)
