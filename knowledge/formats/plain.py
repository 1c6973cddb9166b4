"""Plain text (`.text`): read as an AsciiDoc file is, kept whole and titled by its first
line (or an AsciiDoc document title, should it open with one), but shown as it is: no
AsciiDoc markup is rendered or hidden."""

from __future__ import annotations

from knowledge.formats.asciidoc import load_asciidoc
from knowledge.formats.format import Format

FORMAT = Format("text", (".text",), load_asciidoc)
