"""The document formats teamkb reads, each in its own module owning its rules: which
file names it claims (gzipped too), how it loads, how its text reads rendered.

Every layer asks `of(path)` which format a file is, never a list of suffixes of its
own: a `.rest` file is reStructuredText for loading and quoting alike.
"""

from __future__ import annotations

from pathlib import Path, PurePath

from knowledge.documents import LoadedDoc, document_name
from knowledge.errors import LoadError
from knowledge.formats import asciidoc, html, markdown, pdf, plain, rst
from knowledge.formats.format import Format
from knowledge.formats.reading import check_size

# In the order users are told what teamkb reads.
FORMATS: tuple[Format, ...] = (
    markdown.FORMAT, rst.FORMAT, html.FORMAT, asciidoc.FORMAT, plain.FORMAT, pdf.FORMAT
)  # fmt: skip
NAMES = tuple(f.name for f in FORMATS)
_BY_SUFFIX = {suffix: f for f in FORMATS for suffix in f.suffixes}


def of(path: str | PurePath) -> Format | None:
    """The format of a file (a path or a source as cited), or None for a file teamkb
    does not read. A compound suffix (`os.rst.txt`) wins over its last part."""
    shown = PurePath(path).name.lower()
    name = document_name(shown)
    suffixes = PurePath(name).suffixes
    found = _BY_SUFFIX.get("".join(suffixes[-2:])) or _BY_SUFFIX.get("".join(suffixes[-1:]))
    return None if found is None or (name != shown and not found.gzipped) else found


def file_type(name: str) -> str:
    """How a file's type is named to users: `.yaml`, `.yaml.gz`, or "no suffix"."""
    parts = Path(name).suffixes
    kind = "".join(parts[-2:]) if parts[-1:] == [".gz"] else "".join(parts[-1:])
    return kind.lower() or "no suffix"


def load_document(path: Path, rel: str) -> LoadedDoc:
    """Load one file; raises LoadError with a reason a user can act on."""
    found = of(path)
    if found is None:
        raise LoadError(rel, f"unsupported file type '{file_type(path.name)}'")
    check_size(path, rel)
    return found.load(str(path), rel)
