"""AsciiDoc chunks labelled with the section they start in, without cutting the file at
its sections: measured for the README's retrieval table and not kept.

    python bench/heading_labels.py /path/to/git-doc ../shared/bench/qa/git-doc/questions.jsonl

Indexes the folder twice into a scratch folder with the default settings: once as
teamkb does (AsciiDoc files whole, chunks headed by the file's title only), once with
every chunk's heading set to the section trail at its first line (`OPTIONS`,
`ENVIRONMENT VARIABLES › Git Commits`), which then starts its embedded and full-text
indexed text as Markdown headings do. Chunk boundaries are the same in both runs.
Prints `teamkb eval retrieval` for hybrid, vector and full text on each index.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import knowledge.sync as sync
from bench._common import index_and_eval
from knowledge.asciidoc import asciidoc_headings
from knowledge.chunking import HEADING_SEP, sha1
from knowledge.documents import Chunk

_default_chunks = sync._chunks


def trail_at(headings: list[tuple[int, int, str, int]], line: int) -> str:
    """The section trail (document title left out) in effect at 1-based `line`."""
    trail: list[tuple[int, str]] = []
    for index, level, text, _ in headings:
        if index + 1 > line:
            break
        while trail and trail[-1][0] >= level:
            trail.pop()
        trail.append((level, text))
    return HEADING_SEP.join(text for level, text in trail if level > 1)


def labelled_chunks(path: Path, rel: str, *args: object) -> list[Chunk]:
    chunks = _default_chunks(path, rel, *args)  # type: ignore[arg-type]
    if path.suffix not in (".txt", ".adoc", ".asciidoc"):
        return chunks
    lines = path.read_text(errors="replace").split("\n")
    headings = list(asciidoc_headings(lines))
    out = []
    for c in chunks:
        heading = trail_at(headings, c.line_start)
        context = f"{c.title}{HEADING_SEP}{heading}" if heading else c.title
        text = f"{context}\n{c.text}"
        key = f"{c.collection}\0{rel}\0{c.line_start}\0{c.line_end}"
        out.append(dataclasses.replace(c, heading=heading, search_text=text,
                                       text_hash=sha1(text), id=sha1(key)[:24]))  # fmt: skip
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("docs", type=Path)
    ap.add_argument("questions", type=Path)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        index_and_eval(args.docs.resolve(), args.questions.resolve(), Path(tmp), "default")
        sync._chunks = labelled_chunks  # type: ignore[assignment]
        index_and_eval(args.docs.resolve(), args.questions.resolve(), Path(tmp), "section-labels")


if __name__ == "__main__":
    main()
