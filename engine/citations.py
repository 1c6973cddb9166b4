"""Citation checking: markers must point at passages that were really retrieved."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass

log = logging.getLogger(__name__)

_MARKER = re.compile(r"\[\s*(\d{1,3}(?:\s*[,;]\s*\d{1,3})*)\s*\]")


@dataclass(frozen=True)
class CheckedText:
    text: str
    used: tuple[int, ...]  # passage numbers (1-based, as in the prompt), in order of first use
    invalid: tuple[int, ...]


def check_citations(text: str, n_passages: int) -> CheckedText:
    """Drop markers that point at no passage and renumber the rest 1..m by first use,
    so the sources list shows exactly what the answer used."""
    used: list[int] = []
    invalid: list[int] = []

    def scan(m: re.Match[str]) -> str:
        for part in re.split(r"[,;]", m.group(1)):
            n = int(part)
            if 1 <= n <= n_passages:
                if n not in used:
                    used.append(n)
            elif n not in invalid:
                invalid.append(n)
        return m.group(0)

    _MARKER.sub(scan, text)
    renumber = {old: new for new, old in enumerate(used, start=1)}

    def rewrite(m: re.Match[str]) -> str:
        nums: list[int] = []
        for part in re.split(r"[,;]", m.group(1)):
            n = renumber.get(int(part))
            if n is not None and n not in nums:
                nums.append(n)
        return "".join(f"[{n}]" for n in nums)

    cleaned = _MARKER.sub(rewrite, text)
    # A removed marker leaves a space before the sentence's stop ("See [7]." → "See .");
    # a colon that opens a Sphinx role (":const:`WARNING`") is not such a stop.
    cleaned = re.sub(r"[ \t]+([.,;:!?])(?=\s|$)", r"\1", cleaned)
    cleaned = re.sub(r"[ \t]{2,}", " ", cleaned).strip()
    if invalid:
        log.warning("removed citation markers pointing at no passage: %s", invalid)
    return CheckedText(cleaned, tuple(used), tuple(invalid))


def markers(text: str) -> list[int]:
    out: list[int] = []
    for m in _MARKER.finditer(text):
        out.extend(int(p) for p in re.split(r"[,;]", m.group(1)))
    return out


def cited_sources(text: str, sources: Sequence[str]) -> list[str]:
    return [sources[n - 1] for n in markers(text) if 1 <= n <= len(sources)]


# -- grounding ---------------------------------------------------------------------------
_WORD = re.compile(r"`[^`]+`|[A-Za-z0-9][A-Za-z0-9_.:/#%-]*[A-Za-z0-9%]|[0-9]")
_STOP = frozenset(
    [
        "the",
        "a",
        "an",
        "and",
        "or",
        "of",
        "to",
        "in",
        "on",
        "for",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "it",
        "its",
        "this",
        "that",
        "with",
        "as",
        "at",
        "by",
        "from",
        "use",
        "used",
        "using",
        "you",
        "your",
        "we",
        "our",
        "they",
        "their",
        "can",
        "will",
        "should",
        "must",
        "do",
        "does",
        "how",
        "what",
        "when",
        "where",
        "which",
        "who",
        "why",
        "according",
        "answer",
        "docs",
        "not",
        "no",
        "yes",
        "if",
        "then",
        "than",
        "so",
        "into",
        "about",
        "any",
        "all",
        "each",
        "there",
        "here",
        "also",
        "may",
        "more",
        "most",
        "some",
        "such",
        "only",
        "just",
    ]
)
# "deploys/rollback.md › How to roll back": a passage header copied into the answer.
_HEADER_COPY = re.compile(r"[\w./-]+\.(?:md|markdown|rst|txt|html?|pdf)\b\s*›", re.I)
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z`\[])")


def _content_words(text: str) -> set[str]:
    return {
        w.lower().strip("`.:")
        for w in _WORD.findall(text)
        if w.lower() not in _STOP and (len(w) > 2 or w.isdigit())
    }


def support(sentence: str, passage: str) -> float:
    """Share of the sentence's content words that the passage contains."""
    words = _content_words(_MARKER.sub(" ", sentence))
    if not words:
        return 0.0
    haystack = passage.lower()
    # A number the passage does not contain is a claim it does not support.
    numbers = set(re.findall(r"\d+(?:[.:]\d+)?", _MARKER.sub(" ", sentence)))
    if any(not re.search(rf"(?<![\d.]){re.escape(n)}(?![\d])", haystack) for n in numbers):
        return 0.0
    return sum(1 for w in words if w in haystack) / len(words)


def ground(text: str, passages: Sequence[str], *, keep: float = 0.3, add: float = 0.5) -> str:
    """Verify each sentence's markers against what the passages say, and cite the
    supporting passage where the model gave none. Small models often answer right but
    cite wrong or not at all; a sentence that no passage supports stays uncited."""
    out = []
    for sentence in _SENTENCE.split(text.strip()):
        if not sentence or _HEADER_COPY.search(sentence):
            continue  # provenance copied from the prompt says nothing about the question
        found = markers(sentence)
        cited = [n for n in found if 1 <= n <= len(passages)]
        if len(cited) < len(found):
            log.warning(
                "removed citation markers pointing at no passage: %s",
                [n for n in found if n not in cited],
            )
        scores = [support(sentence, p) for p in passages]
        best = max(range(len(passages)), key=lambda i: scores[i]) if passages else -1
        valid = [n for n in cited if scores[n - 1] >= keep]
        bare = re.sub(r"^\s*according to\s*[,:]?\s*", "", _MARKER.sub("", sentence), flags=re.I)
        bare = bare.strip()
        if bare and bare[0].islower():
            bare = bare[0].upper() + bare[1:]
        if valid:
            chosen = valid
        elif best >= 0 and scores[best] >= add:
            chosen = [best + 1]
        else:
            chosen = []
        tail = ""
        if bare and bare[-1] in ".!?":
            bare, tail = bare[:-1].rstrip(), bare[-1]
        marks = "".join(f"[{n}]" for n in chosen)
        out.append(f"{bare} {marks}{tail}" if marks else bare + tail)
    return " ".join(out)
