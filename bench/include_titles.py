"""AsciiDoc fragments titled by the pages that include them: measured, not kept.

    python bench/include_titles.py CORPUS --config TOML index
    teamkb --config TOML eval retrieval --questions QUESTIONS --collection NAME

Git's docs keep shared text in fragments (`diff-options.txt`, included by git-diff(1),
git-log(1) and five more pages), which the loader titles by their file name. This runs
`teamkb` with the AsciiDoc loader wrapped so that a fragment titled by its file name is
titled "diff-options, in git-diff(1), git-log(1), …" instead (the title is embedded and
full-text indexed with every chunk); index into a fresh home, then evaluate as usual.
"""

from __future__ import annotations

import dataclasses
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from knowledge import loaders
from knowledge.documents import LoadedDoc

_INCLUDE = re.compile(r"^include::([^\[]+)\[")
_ASCIIDOC = (".txt", ".adoc")


def includers(root: Path) -> dict[str, list[str]]:
    """Each included file's path (relative to `root`) → the titles of its includers."""
    files = [f for f in sorted(root.rglob("*")) if f.suffix in _ASCIIDOC and f.is_file()]
    title = {}
    for f in files:
        rel = f.relative_to(root).as_posix()
        title[rel] = loaders.load_text(str(f), rel).title
    out: dict[str, list[str]] = {}
    for f in files:
        for line in f.read_text(errors="replace").split("\n"):
            m = _INCLUDE.match(line)
            target = (f.parent / m[1]).resolve() if m else None
            if target is not None and target.is_relative_to(root.resolve()):
                rel = target.relative_to(root.resolve()).as_posix()
                out.setdefault(rel, []).append(title[f.relative_to(root).as_posix()])
    return out


def main() -> None:
    root = Path(sys.argv[1])
    by_fragment = includers(root)
    plain = loaders.load_text

    def titled(path: str, rel: str) -> LoadedDoc:
        doc = plain(path, rel)
        names = list(dict.fromkeys(by_fragment.get(rel, [])))
        if names and doc.title == Path(rel).stem:
            doc = dataclasses.replace(doc, title=f"{doc.title}, in {', '.join(names)}"[:120])
        return doc

    for suffix in _ASCIIDOC:
        loaders.LOADERS[suffix] = titled
    print(f"{len(by_fragment)} files are included by others", file=sys.stderr)
    from teamkb.cli import main as teamkb

    sys.exit(teamkb(sys.argv[2:]))


if __name__ == "__main__":
    main()
