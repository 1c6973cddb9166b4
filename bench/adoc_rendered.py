"""AsciiDoc embedded and full-text indexed as a reader sees it rendered, instead of as
written: measured for the README's retrieval table and not kept.

    python bench/adoc_rendered.py /path/to/git-doc ../shared/bench/qa/git-doc/questions.jsonl

Indexes the folder three times into a scratch folder with the default settings, each
chunk's embedded and indexed text (title › heading, then its lines) built from:

- `default`: the lines as written, as teamkb does;
- `rendered`: the lines the model reads (`engine.rendering.model_view`: no comment,
  directive, anchor or continuation lines; `linkgit:git-reset[1]` as git-reset(1);
  `{litdd}` as `--`), with cross references (`<<def_merge,merge>>`) as their labels
  and inline anchors (`[[def_evil_merge]]`) removed;
- `xrefs`: the lines as written, with only the cross references and inline anchors
  rendered (git's glossary and user manual hold most of them).

Chunk boundaries, ids and the quoted text are the same in all three runs. Prints `teamkb
eval retrieval` for hybrid, vector and full text on each index.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import knowledge.sync as sync
from bench._common import index_and_eval
from engine.rendering import is_asciidoc, model_view
from knowledge.chunking import sha1
from knowledge.documents import Chunk

_default_chunks = sync._chunks
_XREF = re.compile(r"<<([\w:.-]+)(?:,[ \t]*([^>\n]*?))?>>")
_INLINE_ANCHOR = re.compile(r"\[\[[\w:.-]+(?:,[^\]\n]*)?\]\]")


def xrefs(text: str) -> str:
    text = _XREF.sub(lambda m: m[2] or m[1].replace("_", " "), text)
    return _INLINE_ANCHOR.sub("", text)


def rendered(text: str, source: str) -> str:
    return xrefs(model_view(text, source))


def chunks_with(view: Callable[[str, str], str]) -> Callable[..., list[Chunk]]:
    def chunks(path: Path, rel: str, *args: object) -> list[Chunk]:
        out = _default_chunks(path, rel, *args)  # type: ignore[arg-type]
        if not is_asciidoc(rel):
            return out
        new = []
        for c in out:
            context = c.search_text[: len(c.search_text) - len(c.text)]
            text = context + view(c.text, rel)
            new.append(dataclasses.replace(c, search_text=text, text_hash=sha1(text)))
        return new

    return chunks


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("docs", type=Path)
    ap.add_argument("questions", type=Path)
    args = ap.parse_args()
    docs, questions = args.docs.resolve(), args.questions.resolve()
    with tempfile.TemporaryDirectory() as tmp:
        index_and_eval(docs, questions, Path(tmp), "default")
        sync._chunks = chunks_with(rendered)  # type: ignore[assignment]
        index_and_eval(docs, questions, Path(tmp), "rendered")
        sync._chunks = chunks_with(lambda text, _: xrefs(text))  # type: ignore[assignment]
        index_and_eval(docs, questions, Path(tmp), "xrefs")


if __name__ == "__main__":
    main()
