"""Evidence: split passages into sentences and pick the lines that answer the question.

A "sentence" is the smallest unit a person can check: a prose sentence, a list item, a
table row, a definition ("--staged::" and its first sentence) or a few lines of a code
block. Each keeps its character span in the passage, so its quote is exact doc text and
its line range is exact in the file (chunk text is a verbatim slice of the file).
"""

from __future__ import annotations

import itertools
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from engine.terms import contains, fact_tokens, named_terms, rare_terms
from engine.types import Passage
from knowledge.embedding import Embedder
from knowledge.formats import asciidoc, of
from knowledge.formats import rst as rst_rules
from knowledge.text import line_spans, sentence_starts, stems

log = logging.getLogger(__name__)

MAX_QUOTE = 300  # characters: a quote must stay readable in a Slack block or a hover

_FENCE = re.compile(r"^\s*(```|~~~)")
_RULE = re.compile(r"^\s*[-=~^#*+_:|.`]{3,}\s*$")  # heading underlines, rules, separators
_HEADING = re.compile(r"^\s*(#{1,6}\s|={1,6}\s)")
_ITEM = re.compile(r"^\s*(?:[-*+•]|\d{1,3}[.)]|[a-z][.)])\s+\S")
_ROW = re.compile(r"^\s*[|+]")
_TABLE_RULE = re.compile(r"^\s*[|+]?[\s|+:=-]*$")
# An AsciiDoc/RST definition term: "--staged::", "core.editor::", "-S::" (not prose).
_TERM = re.compile(r"^\S[^\s]*(?:\s\S+){0,3}::\s*$|^\S[^\s]*(?:\s\S+){0,3};;\s*$")
_TERM_AT = re.compile(r"[^\n]*(?:::|;;)[ \t]*\n")  # a block that opens with its term


def is_rst(source: str) -> bool:
    """Whether a source is reStructuredText (gzipped or not)."""
    return of(source) is rst_rules.FORMAT


@dataclass(frozen=True)
class Sentence:
    start: int  # character offsets into the passage text
    end: int
    text: str  # exactly passage_text[start:end]
    kind: str = "prose"  # prose | item | row | code
    # False for a piece of a sentence too long for one quote: a quote may be such a
    # piece, but never grows onto one ("counterpart).  To force a push to only …").
    whole: bool = True


def passage_sentences(text: str, *, rst: bool = False) -> list[Sentence]:
    """Every checkable unit of a passage, in order, each at most MAX_QUOTE characters.

    A sentence of a definition ("--staged::" and its description) keeps the term in
    front of it when both fit in a quote: "Stash only the changes that are currently
    staged." says nothing checkable without the option it describes. `rst`: the text
    is reStructuredText, whose literal blocks are code. An AsciiDoc paragraph joined to
    a definition by a lone `+` belongs to it, and keeps its term the same way."""
    out: list[Sentence] = []
    term: tuple[int, int] | None = None  # (start, end) of the definition term in force
    last = -1  # the previous block's end
    for start, end, kind in _blocks(text, rst=rst):
        m = _TERM_AT.match(text, start, end)
        joined = kind == "prose" and _continued(text[last:start] if last >= 0 else "")
        term = (start, m.end()) if m else (term if joined else None)
        last = end
        for s, e, whole in _sentences(text, start, end, kind):
            s, e = _trim(text, s, e)
            if term and s > term[1] and e - term[0] <= MAX_QUOTE:
                s = term[0]
            if e > s and sum(ch.isalnum() for ch in text[s:e]) >= 3:
                out.append(Sentence(s, e, text[s:e], kind, whole))
    return out


def _continued(gap: str) -> bool:
    """Whether the text between two blocks is an AsciiDoc list continuation (a lone `+`)."""
    lines = [ln.strip() for ln in gap.split("\n") if ln.strip()]
    return lines == ["+"]


def unwrap(text: str, *, apart: re.Pattern[str] | None = None, rst: bool = False) -> str:
    """The passage with each paragraph and list item on one line (code and table rows
    as they are). Docs wrap prose at 80 columns, and a newline ends an answer: a model
    copying a wrapped sentence stopped mid-clause ("…to a value below the hard").
    Lines that match `apart` keep their own line."""
    out, pos = [], 0
    for start, end, kind in _blocks(text, rst=rst):
        if kind not in ("prose", "item") or start < pos:
            continue
        lines = text[start:end].split("\n")
        block = lines[0]
        for before, line in itertools.pairwise(lines):
            alone = apart is not None and bool(apart.match(line) or apart.match(before))
            block = f"{block}\n{line}" if alone else f"{block.rstrip()} {line.strip()}"
        out += [text[pos:start], block]
        pos = end
    return "".join([*out, text[pos:]])


def _blocks(text: str, *, rst: bool = False) -> list[tuple[int, int, str]]:
    """Cut a passage into paragraphs, items, rows and code blocks (character spans)."""
    blocks: list[tuple[int, int, str]] = []
    cur: list[int] = []  # [start, end] of the open prose/item block
    kind, term_start = "prose", -1  # term_start: a definition term awaiting its description
    fence: re.Pattern[str] | None = None
    code_start = -1
    lines = line_spans(text)

    def close() -> None:
        nonlocal cur
        if cur:
            blocks.append((cur[0], cur[1], kind))
        cur = []

    skipped, literals = (rst_rules if rst else asciidoc).hidden_lines(text, lines)
    for n, (s, e) in enumerate(lines):
        # The previous line: an underline needs text right above it.
        line, above_line = text[s:e], text[slice(*lines[n - 1])] if n else ""
        if s in skipped:
            close()
            continue
        if fence is not None:  # inside a code block: it ends at its own delimiter
            if fence.match(line):
                blocks.append((code_start, s, "code"))
                fence = None
            continue
        one_line = bool(cur) and cur[0] == text.rfind("\n", 0, cur[1]) + 1
        if _RULE.match(line) and above_line.strip() and one_line and not _ROW.match(line):
            cur = []  # an underline: the one line above it was a heading, not content
            continue
        # In reStructuredText, a line of four dashes is a title's adornment instead.
        delimiter = not rst and asciidoc.BLOCK_DELIMITER.match(line)
        if _FENCE.match(line) or delimiter:
            close()
            fence = _FENCE if _FENCE.match(line) else re.compile(re.escape(line.strip()) + r"\s*$")
            code_start = e + 1
            continue
        if not line.strip() or _HEADING.match(line) or (_RULE.match(line) and not _ROW.match(line)):
            close()
            continue
        # In reStructuredText, "Example::" opens a literal block, not a definition.
        if not rst and _TERM.match(line.strip()) and not _ROW.match(line):
            close()
            term_start = s if term_start < 0 else term_start
            continue
        if _ROW.match(line):
            close()
            if not _TABLE_RULE.match(line):
                blocks.append((s, e, "row"))
            continue
        if _ITEM.match(line) or not cur:
            close()
            kind = "item" if _ITEM.match(line) else "prose"
            cur = [term_start if term_start >= 0 else s, e]
            term_start = -1
            continue
        cur[1] = e  # a continuation line
    close()
    if fence is not None and code_start < len(text):  # an unclosed block (a cut chunk)
        blocks.append((code_start, len(text), "code"))
    return sorted(blocks + [(a, b, "code") for a, b in literals])


def _sentences(text: str, start: int, end: int, kind: str) -> list[tuple[int, int, bool]]:
    """(start, end, whether it is a whole unit) of each sentence, row or code window."""
    if kind == "code" or kind == "row":
        return _windows(text, start, end, by_line=kind == "code")
    cuts = [*sentence_starts(text, start, end), end]
    out: list[tuple[int, int, bool]] = []
    for s, e in itertools.pairwise(cuts):
        out.extend(_windows(text, s, e, by_line=False))
    return out


def _windows(text: str, start: int, end: int, *, by_line: bool) -> list[tuple[int, int, bool]]:
    """Bound a unit to MAX_QUOTE characters: whole lines for code, words otherwise (a
    5,000-character line still gives readable quotes). Lines of code are whole units
    each; a sentence cut between words is not."""
    out: list[tuple[int, int, bool]] = []
    s = start
    while end - s > MAX_QUOTE:
        window = text[s : s + MAX_QUOTE]
        cut = window.rfind("\n") if by_line else -1
        if cut < MAX_QUOTE // 3:
            cut = max(window.rfind(" "), window.rfind("\t"))
        if cut < MAX_QUOTE // 3:
            cut = MAX_QUOTE
        out.append((s, s + cut, by_line))
        s += cut
    out.append((s, end, by_line or not out))
    return out


def _trim(text: str, s: int, e: int) -> tuple[int, int]:
    while s < e and text[s].isspace():
        s += 1
    while e > s and text[e - 1].isspace():
        e -= 1
    return s, e


def sentence_lines(p: Passage, s: Sentence) -> tuple[int, int]:
    """The 1-based file lines a sentence spans: the passage's first line plus the line
    breaks before it (a one-line passage, e.g. a PDF page, keeps its own line)."""
    first, last = p.lines
    a = min(last, first + p.text.count("\n", 0, s.start))
    b = min(last, first + p.text.count("\n", 0, s.end))
    return a, max(a, b)


# -- choosing the evidence ------------------------------------------------------------------
RARE_BONUS = 0.15  # per exact match of a question's rare term (option, number, identifier)
OVERLAP_BONUS = 0.2  # times the share of the question's content words in the sentence
RANK_PENALTY = 0.03  # per retrieval rank: among near-ties, trust the better passage
HINT_WEIGHT = 0.5  # times the share of the model's sentence found in a candidate
# A sentence naming a specific the question lacks (a flag, key, number, command): answers
# name specifics. Swept 0 / 0.1 / 0.2 / 0.3 on three dev sets (docs/decisions/new-fact-bonus.md).
NEW_FACT_BONUS = 0.2
MAX_PER_PASSAGE = 40  # bounds the embedding batch on huge passages


@dataclass(frozen=True)
class Evidence:
    passage: int  # index into the passages evidence was chosen from
    sentence: Sentence
    relevance: float  # cosine similarity of question and sentence
    score: float  # relevance plus exact-match bonuses: what ranks candidates


@dataclass(frozen=True)
class EvidenceSet:
    candidates: tuple[Evidence, ...]  # best first
    relevance: float  # the best sentence's relevance: an abstention signal
    coverage: float  # share of the question's content words the passages hold
    missing: tuple[str, ...]  # names of the question that no given passage holds
    texts: tuple[str, ...] = ()  # the passages' texts, for quotes wider than a sentence

    def best(self, passage: int | None = None) -> Evidence | None:
        e = next((e for e in self.candidates if passage in (None, e.passage)), None)
        return None if e is None else self.quote(e)

    def top(self, n: int) -> list[Evidence]:
        """The n best quotes a reader should see: no repeated text (docs copy lines
        between pages) and no quote overlapping another one already chosen. A sentence
        next to a chosen quote grows away from it ("Setting `mergetool.keepBackup` …"
        right after the quote on the `.orig` files it removes)."""
        out: list[Evidence] = []
        shown: list[tuple[str, str]] = []  # (core sentence, whole quote), whitespace-folded
        for e in self.candidates:
            if len(out) >= n:
                break
            q = self.quote(e, avoid=out)
            core, whole = _fold(e.sentence.text), _fold(q.sentence.text)
            if any(_overlaps(q, o) for o in out):
                continue
            # Overlapping chunks of one file hold the same lines under different passages:
            # a quote whose own sentence another quote shows (or the reverse) repeats it.
            # Where it is the same sentence with more around it (the other chunk began at
            # it), the fuller one is shown in its place.
            same = next((k for k, (c, w) in enumerate(shown) if c == core and w in whole), -1)
            if same >= 0 and len(whole) > len(shown[same][1]):
                out[same], shown[same] = q, (core, whole)
            if same >= 0 or any(core in w or c in whole for c, w in shown):
                continue
            out.append(q)
            shown.append((core, whole))
        return out

    def for_claim(self, passage: int, claim: str, *, widen: bool = True) -> Evidence | None:
        """The quote of one passage that best backs a claim the model made about it
        (`widen=False`: the bare sentence, which the support check was calibrated on)."""
        want = stems(claim)
        pool = [e for e in self.candidates if e.passage == passage]
        if not pool:
            return None
        best = pool[0]
        if want:
            best = max(pool, key=lambda e: e.score + HINT_WEIGHT * _share(want, e.sentence.text))
        return self.quote(best) if widen else best

    def lead(self, e: Evidence) -> tuple[str, bool]:
        """The quote as one line of answer text, whitespace folded, cut before the first
        code block of more than one line (and whether one was cut). Folded into a line,
        code reads as noise ("128:: @lru_cache def count_vowels(sentence): return …");
        the citation under the answer shows it with its lines."""
        cut = min(
            (
                c.sentence.start
                for c in self.candidates
                if c.passage == e.passage
                and c.sentence.kind == "code"
                and "\n" in c.sentence.text
                and e.sentence.start <= c.sentence.start < e.sentence.end
            ),
            default=None,
        )
        if cut is None or e.passage >= len(self.texts):
            return _folded(e.sentence.text.split("\n")), False
        lines = self.texts[e.passage][e.sentence.start : cut].split("\n")
        while lines and (not lines[-1].strip() or _FENCE.match(lines[-1])
                         or asciidoc.BLOCK_DELIMITER.match(lines[-1])):  # fmt: skip
            lines.pop()  # the code block's opening delimiter ("```bash", "----")
        return _folded(lines), True

    def quote(self, e: Evidence, avoid: Sequence[Evidence] = ()) -> Evidence:
        """A sentence widened by its neighbours, the better-scoring side first, while
        the quote stays within MAX_QUOTE characters: facts come in pairs ("every 90
        days" next to the command, a default next to its option) and a reader needs
        both. On three dev sets: 48 facts shown in three quotes against 38 for bare sentences."""
        if e.passage >= len(self.texts):
            return e
        text = self.texts[e.passage]
        units = sorted(
            (c for c in self.candidates if c.passage == e.passage), key=lambda c: c.sentence.start
        )
        start, end = e.sentence.start, e.sentence.end
        while True:
            before = [c for c in units if c.sentence.end <= start]
            after = [c for c in units if c.sentence.start >= end]
            near = [
                c
                for c in before[-1:] + after[:1]
                if c.sentence.whole
                and max(end, c.sentence.end) - min(start, c.sentence.start) <= MAX_QUOTE
                and not _markup_between(text, (start, end), c.sentence)
                and not any(_overlaps(c, a) for a in avoid)
            ]
            if not near:
                break
            pick = max(near, key=lambda c: c.score)
            start, end = min(start, pick.sentence.start), max(end, pick.sentence.end)
        if (start, end) == (e.sentence.start, e.sentence.end):
            return e
        return replace(e, sentence=Sentence(start, end, text[start:end], e.sentence.kind))


def _markup_between(text: str, span: tuple[int, int], s: Sentence) -> bool:
    """Whether markup (".. index:: …", "ifndef::git-log[]") or a section title lies
    between a quote and the neighbour it would grow to: a quote is what a reader sees,
    and they never see markup; a title starts another subject."""
    gap = text[s.end : span[0]] if s.end <= span[0] else text[span[1] : s.start]
    lines = gap.split("\n")
    if any(rst_rules.MARKUP_LINE.match(line) or asciidoc.is_directive_line(line) for line in lines):
        return True
    # A section title: the quote would run on into another section ("… git-update-index(1).
    # CAVEATS ------- The fsmonitor daemon does not …"). Its underline is what `_blocks`
    # takes for one: a rule right under a line of text.
    return any(_HEADING.match(line) for line in lines) or any(
        line.strip() and _RULE.match(rule) and not _ROW.match(rule)
        for line, rule in itertools.pairwise(lines)
    )


def _folded(lines: list[str]) -> str:
    """Lines as one line of answer text, without the AsciiDoc lines a reader never sees
    (a list continuation's lone `+`, `ifndef::git-log[]`)."""
    return " ".join(" ".join(ln for ln in lines if not asciidoc.ADOC_HIDDEN_LINE.match(ln)).split())


def _fold(text: str) -> str:
    return " ".join(text.split())


def _overlaps(a: Evidence, b: Evidence) -> bool:
    sa, sb = a.sentence, b.sentence
    return a.passage == b.passage and sa.start < sb.end and sb.start < sa.end


def _share(want: set[str], text: str) -> float:
    return len(want & stems(text)) / len(want) if want else 0.0


def select_evidence(
    question: str,
    passages: Sequence[Passage],
    embedder: Embedder,
    pool: Sequence[Passage] = (),
) -> EvidenceSet:
    """Rank the sentences of the given passages by how well they answer the question:
    one embedding batch (the question and every sentence), then exact-match bonuses.
    Coverage looks at `pool` too (all retrieved passages: no cost); missing names only
    at the given passages, which are all the model reads."""
    cands: list[tuple[int, Sentence]] = []
    for i, p in enumerate(passages):
        units = passage_sentences(p.text, rst=is_rst(p.source))
        if units and _fragment(p.text, units[0]):
            units = units[1:]
        cands += [(i, s) for s in units[:MAX_PER_PASSAGE]]
    rare = rare_terms(question)
    hay = [f"{p.title}\n{p.heading}\n{p.text}".lower() for p in [*passages, *pool]]
    # Only names decline when absent: the asker's own numbers ("the box is at 96% disk"),
    # paths and values rank sentences, but the docs need not repeat them (named_terms).
    # A name only a lower-ranked passage holds is no help: the model never reads it.
    given = hay[: len(passages)]
    missing = tuple(n for n in named_terms(question) if not any(contains(h, n) for h in given))
    q_stems = stems(question)
    q_low = question.lower()
    found = set().union(*(stems(h) for h in hay)) if hay else set()
    coverage = len(q_stems & found) / len(q_stems) if q_stems else 0.0
    if not cands:
        return EvidenceSet((), 0.0, coverage, missing)
    texts = [question] + [_context(passages[i], s) for i, s in cands]
    vecs = np.asarray(embedder.embed_documents(texts), dtype=np.float32)
    sims = vecs[1:] @ vecs[0]
    scored = []
    for (i, s), sim in zip(cands, sims, strict=True):
        low = s.text.lower()
        bonus = RARE_BONUS * min(2, sum(1 for t in rare if contains(low, t)))
        bonus += OVERLAP_BONUS * _share(q_stems, s.text) - RANK_PENALTY * i
        if any(not contains(q_low, t) for t in fact_tokens(s.text)):
            bonus += NEW_FACT_BONUS
        scored.append(Evidence(i, s, float(sim), float(sim) + bonus))
    scored.sort(key=lambda e: -e.score)
    best = max(e.relevance for e in scored)
    return EvidenceSet(tuple(scored), best, coverage, missing, tuple(p.text for p in passages))


def _fragment(text: str, first: Sentence) -> bool:
    """Whether a passage opens mid-sentence: the splitter's overlap starts chunks inside
    a paragraph, and such a tail ("try to prevent this or tattle on the user.") quoted
    alone, or grown onto the next sentence, reads as if the docs said it whole."""
    return first.start == 0 and first.kind == "prose" and first.text[:1].islower()


def _context(p: Passage, s: Sentence) -> str:
    """What is embedded for a sentence: its heading gives a terse row or item its topic."""
    head = p.heading.split(" › ")[-1] if p.heading else p.title
    return f"{head}: {s.text}" if head else s.text
