"""A passage's text as its readers see it: the model in a prompt, a person in an
answer line. Quotes under an answer keep the docs' exact text; these do not.

- `model_view`: what the model reads and its words are checked against. AsciiDoc (git's
  docs) without the lines a reader never sees and with its inline markup rendered: a
  copied `linkgit:git-push[1]` was taken for a citation of passage 1.
- `as_read`: an answer line folded from a quote, rendered as the page shows it
  (reStructuredText roles, links and Sphinx directives; AsciiDoc inline markup).
"""

from __future__ import annotations

import re

from engine.evidence import is_rst
from knowledge.asciidoc import ADOC_HIDDEN_LINE, adoc_inline
from knowledge.documents import document_name
from knowledge.loaders import rst_inline

ADOC_SUFFIXES = (".txt", ".adoc", ".asciidoc")  # git's docs are AsciiDoc in .txt files


def is_asciidoc(source: str) -> bool:
    name = document_name(source)
    return name.endswith(ADOC_SUFFIXES) and not is_rst(name)


def model_view(text: str, source: str) -> str:
    """A passage's text as the model reads it in a prompt and as its words are checked
    against: AsciiDoc without the lines a reader never sees and with its inline markup
    rendered (a copied `linkgit:git-push[1]` was taken for a citation of passage 1)."""
    if not is_asciidoc(source):
        return text
    return adoc_inline("\n".join(ln for ln in text.split("\n") if not ADOC_HIDDEN_LINE.match(ln)))


# Sphinx directives an answer line may fold in, as the page renders them: a version note
# (".. versionadded:: 3.3" is "New in version 3.3."), and an object's description,
# which shows its signature (".. function:: rmtree(path)" is "rmtree(path)").
_RST_VERSION = re.compile(r"\.\.\s+(versionadded|versionchanged|deprecated)::[ \t]*([\w.]+)")
_VERSION_NOTE = {
    "versionadded": "New in",
    "versionchanged": "Changed in",
    "deprecated": "Deprecated since",
}
_RST_DESCRIBES = re.compile(
    r"\.\.\s+(?:py:)?(?:function|method|classmethod|staticmethod|class|data|attribute"
    r"|decorator|decoratormethod|exception|describe|option|cmdoption|envvar)::[ \t]*"
)


def as_read(text: str, source: str) -> str:
    """Inline markup of `source`'s format as a reader sees it rendered: an answer line is
    read, not checked against the file (its quotes keep the docs' exact text)."""
    if is_rst(source):
        text = _RST_VERSION.sub(lambda m: f"{_VERSION_NOTE[m[1]]} version {m[2]}.", text)
        return rst_inline(_RST_DESCRIBES.sub("", text))
    return adoc_inline(text) if is_asciidoc(source) else text
