"""The text rules every layer shares, each defined once: words, stems, stop words,
sentences and `[n]` citation markers.

Retrieval (the full-text query), evidence (doc sentences), answer checks (a model's
sentences and their markers) and the front ends (Slack links, editor summaries) all
read text with these, so a change to one rule reaches every reader.
"""

from __future__ import annotations

import re
from collections.abc import Callable

# -- words -------------------------------------------------------------------------------
# Runs of letters and digits, keeping inner dots, dashes, underscores and slashes
# (`pull.rebase`, `force-with-lease`, `api/v1.24`); unicode letters count (café, 設定).
_SEARCH_WORD = re.compile(r"\w(?:[\w.\-/]*\w)?")
# An English word: letters, inner digits, dashes and apostrophes ("don't", "ledger-api").
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_'’-]*[A-Za-z0-9]|[A-Za-z]")

# Words that say how something is asked, not what about: pronouns, question words,
# auxiliaries and chat politeness. Corpus-independent on purpose: the full-text query
# drops exactly these, and a word such as "docs" or "use" may be what a page is about.
FILLER = frozenset(
    """
    i im i'm i've me my mine myself we we're we've our ours us you your yours
    how what whats what's which who whom whose why where when
    do does did doing done can could should would will shall may might must
    is are was were be been being am has have had having
    there here way ways want wants wanted need needs needed get gets got getting
    please hey hi thanks anyone someone somebody anybody something anything
    just really actually still also ever again too very some any
    a an the of to in on for at by with from about into and or but if so than
    it its it's this that these those them they their then as such no not
    """.split()  # noqa: SIM905 (a word list reads better as prose)
)
# The function words every reader drops, and an answer's talk about the docs
# ("according to the docs, …"). engine.verify.support() weighs how far a passage backs
# a sentence without these alone: its citation thresholds were set with this list, and
# the wider STOP_WORDS moves a citation in one of the handbook's 18 checked answers.
CORE_STOP_WORDS = frozenset(
    """the a an and or of to in on for is are was were be been it its this that with as
    at by from use used using you your we our they their can will should must do does how
    what when where which who why according answer docs not no yes if then than so into
    about any all each there here also may more most some such only just""".split()  # noqa: SIM905
)
# FILLER's chat words that content words keep: the answer checks, evidence scores and
# abstention were calibrated with them counted ("who needed the documentation?" keeps
# "needed" and is not declined as wordless).
_FILLER_KEPT_AS_CONTENT = frozenset(
    "anybody getting hi myself needed somebody thanks wanted ways".split()  # noqa: SIM905
)
# Words that say nothing about what a question or a sentence is about: content words
# and stems (answer checks, evidence, abstention) leave these out.
STOP_WORDS = (
    FILLER - _FILLER_KEPT_AS_CONTENT
    | CORE_STOP_WORDS
    | frozenset(
        """nor without onto over under above below after before between through during
        else he him his she her theirs one ones every much many own same other another
        even via up down out off per thing things stuff like make makes made let lets
        uses know tell say says said ok okay everything whatever basically doc
        documentation team there's don't doesn't isn't can't won't thats dont cant wont
        ive you're go going goes gonna wanna should've would've kind sort bit lot""".split()  # noqa: SIM905
    )
)


def words(text: str) -> list[str]:
    """Every word of a text as search reads it, case and stop words kept."""
    return _SEARCH_WORD.findall(text)


def content_words(text: str) -> list[str]:
    """The words of a text that are not stop words, lower-cased."""
    out = []
    for w in _WORD.findall(text):
        lw = w.lower().replace("’", "'")
        if lw not in STOP_WORDS and len(lw) > 2:
            out.append(lw)
    return out


def stem(word: str) -> str:
    """A crude stem: lower case, cut to 5 letters ("rotated" ~ "rotation" ~ "rotate")."""
    w = word.lower().strip("'’-")
    return w[:5] if len(w) > 5 else w.rstrip("s") or w


def stems(text: str) -> set[str]:
    return {stem(w) for w in content_words(text)}


# -- sentences ---------------------------------------------------------------------------
# A sentence ends at . ! or ? and a space.
_STOP_BREAK = re.compile(r"(?<=[.!?])\s+")
# In a model's answer, only where the next opens with a capital, a code span, a
# citation marker, a quote or a bracket ("Run it. `make` builds.", not "v2. then").
_ANSWER_BREAK = re.compile(_STOP_BREAK.pattern + r"(?=[A-Z`\[\"(])")
# A doc's prose, where a closing quote or bracket may follow the stop and a sentence may
# open with a digit or emphasis; an abbreviation or an item's own "1." ends nothing.
_DOC_BREAK = re.compile(r"(?<=[.!?])[\"')\]]?\s+(?=[A-Z0-9`\"'(\[*_])")
_ABBREVIATION = re.compile(r"(?:\b(?:e\.g|i\.e|etc|vs|cf|approx|no|fig)\.)$", re.I)
_ITEM_NUMBER = re.compile(r"^(?:\d{1,3}|[A-Za-z])[.)]$")


def split_sentences(text: str, *, loose: bool = False) -> list[str]:
    """The sentences of a model's answer, stripped, empty ones left out. `loose`: any
    stop and space ends one, whatever follows: the language server's summaries read
    doc lines joined into one, where a list's "- " opens the next item."""
    breaks = _STOP_BREAK if loose else _ANSWER_BREAK
    return [s.strip() for s in breaks.split(text.strip()) if s.strip()]


def sentence_starts(text: str, start: int = 0, end: int | None = None) -> list[int]:
    """Where each sentence of a doc's prose `text[start:end]` begins, `start` first."""
    cuts = [start]
    for m in _DOC_BREAK.finditer(text, start, len(text) if end is None else end):
        head = text[cuts[-1] : m.start() + 1].strip()
        if not _ABBREVIATION.search(head[-7:]) and not _ITEM_NUMBER.match(head):
            cuts.append(m.end())
    return cuts


# -- citation markers --------------------------------------------------------------------
# "[2]", "[1, 3]", "[ 4; 5 ]": the passages a sentence cites, numbered as in the prompt.
# At most three digits, so that a bracketed year ("[2024]") is no citation.
CITATION_MARKER = re.compile(r"\[\s*(\d{1,3}(?:\s*[,;]\s*\d{1,3})*)\s*\]")


def marker_numbers(marker: re.Match[str]) -> list[int]:
    """The passage numbers one matched marker names, in order."""
    return [int(part) for part in re.split(r"[,;]", marker.group(1))]


def cited_numbers(text: str) -> list[int]:
    """Every passage number the markers of `text` name, in order, repeats included."""
    return [n for m in CITATION_MARKER.finditer(text) for n in marker_numbers(m)]


def strip_markers(text: str) -> str:
    """`text` without its markers or the space before each ("in 7 days [1]." → "in 7
    days.")."""
    return re.sub(r"\s*" + CITATION_MARKER.pattern, "", text)


def rewrite_markers(text: str, rewrite: Callable[[list[int]], str]) -> str:
    """Replace each marker by what `rewrite` makes of its passage numbers."""
    return CITATION_MARKER.sub(lambda m: rewrite(marker_numbers(m)), text)


def format_markers(numbers: list[int]) -> str:
    """The markers for passage numbers as the answer shows them: "[1][3]"."""
    return "".join(f"[{n}]" for n in numbers)


Spans = list[tuple[int, int]]


def line_spans(text: str) -> Spans:
    """(start, end) offsets of each line, without the newline."""
    spans, pos = [], 0
    for line in text.split("\n"):
        spans.append((pos, pos + len(line)))
        pos += len(line) + 1
    return spans
