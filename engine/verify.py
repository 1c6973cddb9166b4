"""Check each generated sentence against the passage it cites; keep only what the docs
back. One pass splits the answer into sentences, cites each where its words are
(`cite`: small models cite wrong or not at all) and checks it. A small model's words are
a claim, not a fact: a sentence stays only when

1. it cites a passage it was given;
2. every fact-bearing token in it (numbers, durations, versions, flags, config keys,
   code spans, paths, identifiers, capitalised names) occurs in that passage;
3. each number occurs there *in the same sense*: the passage clause holding it shares a
   content word with the sentence ("rotated every 7 days" is not backed by "a ticket is
   auto-created 7 days before the due date");
4. its content words match the quoted sentence beyond chance (MIN_OVERLAP, calibrated
   with bench/calibrate_support.py; see docs/decisions/min-overlap.md);
5. it is whole: it does not stop on a comma or a dangling word ("..., then [1]"), nor
   start on a colon or comma (": on-call handoff [1]");
6. it asserts something the lines can back: a bare "Yes [1]." or "Yes, you can [1]."
   has no content word or fact to check, and to "can I just FLUSHALL redis?" it was the
   opposite of what the docs say;
7. it says more than the question: a sentence whose every word and fact the asker
   wrote ("Yes, it is ok to bounce ledger at 2am UTC [1].") matches the docs only as
   far as the question does;
8. a word it takes from the question is in the passage it cites (its title and heading
   count) when another given passage has it: "`git diff-tree` shows a diffstat of the
   changes [1]", to "which option shows a diffstat?", cited a passage that never says
   "diffstat" while another one does; the sentence pinned the asker's term on lines
   about something else. A question word no passage has ("how long is a JWT *good*
   for?") is the asker's phrasing, not a term of the docs, and is not checked;
9. what it adds to the question is in the passage it cites: at least MIN_NEW of its
   content words that the question lacks. "The memory swappiness value is the same as
   the hard limit [1]", to "what range of values does the memory swappiness option
   take?", matched its quote through the question's own words; what it added ("same",
   "hard", "limit") is nowhere in the cited passage;
10. the answer answers the kind of question asked: to "how often / long / many / much
   / big …", an answer none of whose sentences has a number or a word of amount or
   frequency ("hourly", "all", "never", "twice") gives no answer, and all of it goes.
   "The health check is only used to detect a healthcheck that has passed [1]" (real
   output on docker-doc, to the issue's "… how often does it probe?") passed every
   check above: each of its words is in the cited passage.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from engine.evidence import EvidenceSet
from engine.terms import contains, fact_tokens, rare_terms
from knowledge import formats
from knowledge.chunking import HEADING_SEP
from knowledge.text import (
    CITATION_MARKER,
    CORE_STOP_WORDS,
    cited_numbers,
    content_words,
    format_markers,
    split_sentences,
    stem,
    stems,
    strip_markers,
)

log = logging.getLogger(__name__)

# Share of a sentence's content words that its quoted lines must hold. By chance (a doc
# sentence against the best sentence of a passage from another file) the share is 0.00
# median and 0.25 at the 95th percentile on the handbook and on git-doc; at 0.4, 2.0% and
# 1.5% of such unrelated pairs pass (bench/calibrate_support.py; docs/decisions/min-overlap.md).
MIN_OVERLAP = 0.4
# Share of a sentence's content words beyond the question's that its cited passage
# (title and heading included) must hold (check 9). By chance (a doc sentence against a
# whole passage from another file) 0.5% (handbook) and 0.6% (git-doc) of pairs reach 0.6
# (bench/calibrate_support.py). On one recorded set of the dev sets' generations, 0.6
# removed four wrong sentences and no right one; 1.0 also a right one
# (docs/decisions/min-new.md).
MIN_NEW = 0.6
# Support a sentence needs from the passage it cites to keep that citation, and from
# another passage to be cited to it when it cites none that backs it.
KEEP_CITATION = 0.3
ADD_CITATION = 0.5
# Check 10: a question asking for an amount, and the words that give one without a digit.
_AMOUNT_ASKED = re.compile(
    r"\bhow (?:often|long|many|much|big|large|soon|frequently|old|far|fast)\b", re.I
)
_AMOUNT_WORDS = frozenset(
    """all none no never always every each once twice thrice unlimited infinite forever
    indefinitely immediately instantly hourly daily nightly weekly monthly yearly annually
    zero one two three four five six seven eight nine ten eleven twelve fifteen twenty
    thirty forty fifty sixty hundred hundreds thousand thousands million dozen few
    several half double single multiple unbounded""".split()  # noqa: SIM905 (reads as prose)
)
# "deploys/rollback.md › How to roll back": a passage header (prompting.passage_header)
# copied into the answer, a name right before the heading separator; it is a header when
# the name is that of a document teamkb reads (knowledge.formats decides which).
_HEADER_COPY = re.compile(r"([\w./-]+)\s*" + re.escape(HEADING_SEP.strip()))
# What support() counts as a sentence's words: code spans, paths and numbers whole.
_CLAIM_WORD = re.compile(r"`[^`]+`|[A-Za-z0-9][A-Za-z0-9_.:/#%-]*[A-Za-z0-9%]|[0-9]")
_CLAUSE = re.compile(r"[.;:!?()\[\]—–\n]|,\s|\s-\s")
_NUMBER = re.compile(r"^\d")
# A sentence cut off mid-clause (a small model stops at a newline or its token limit):
# "If you want to use git rebase instead of merging, then [1]" asserts nothing whole.
_DANGLING = re.compile(
    r"(?:[,;:(—–-]|\b(?:and|or|but|then|so|because|to|of|the|a|an|with|for|in|on|by|if"
    r"|that|which|when|than|as|from|into|is|are|be))\s*$",
    re.I,
)
# A continuation of something unsaid (": on-call handoff [1]"); not "." or "-", which
# start ".gitignore" and "--all".
_HEADLESS = re.compile(r"^[,;:)\]]")
_NOTHING = "it asserts nothing the cited lines can back"


@dataclass(frozen=True)
class Verdict:
    sentence: str  # as written, markers included
    cited: tuple[int, ...]  # 1-based passage numbers
    ok: bool
    reason: str = ""


def verify(
    text: str,
    passages: Sequence[str],
    evidence: EvidenceSet,
    *,
    question: str = "",
    headings: Sequence[str] = (),
) -> list[Verdict]:
    """A verdict per sentence of `text`, the model's answer, each re-cited by `cite`
    first (markers numbered as the prompt numbered `passages`; `evidence` was chosen
    from the same passages; `question`, when given, is what was asked, so that a
    sentence only repeating it is not taken for support; `headings`, each passage's
    title and heading path, count as its words for checks 8 and 9)."""
    out = []
    asked = stems(question)
    # Each passage's words for checks 8 and 9, stemmed once for every sentence and citation.
    words = [stems(f"{h} {p}") for h, p in zip(headings or [""] * len(passages), passages,
                                                 strict=True)]  # fmt: skip

    def why(bare: str, cited: tuple[int, ...]) -> str:
        return _problem(bare, cited, passages, evidence) or _against_question(
            bare, cited, asked, words
        )

    for written in split_sentences(text):
        sentence = cite(written, passages)
        if not sentence:
            continue  # provenance copied from the prompt says nothing about the question
        cited = _given(sentence, len(passages))
        bare = strip_markers(sentence).strip()
        if echoes(bare, question):
            # No passage backs what says nothing beyond the question: no re-citing.
            reason = "it only repeats the question" if stems(bare) else _NOTHING
            log.info("removed an unsupported sentence (%s): %r", reason, sentence[:200])
            out.append(Verdict(sentence, cited, False, reason))
            continue
        reason = why(bare, cited)
        if reason:
            # Small models often cite the wrong excerpt: a sentence that another given
            # passage backs on its own is re-cited to it rather than dropped.
            other = next((n for n in range(1, len(passages) + 1)
                          if n not in cited and not why(bare, (n,))), None)  # fmt: skip
            if other is not None:
                sentence, cited, reason = _recite(bare, other), (other,), ""
        if reason:
            # The claim the model made is the sentence with its own markers (or none):
            # say why those do not back it, whatever cite() put in their place.
            own = _given(written, len(passages))
            if own != cited:
                reason = why(bare, own) or reason
            log.info("removed an unsupported sentence (%s): %r", reason, sentence[:200])
        out.append(Verdict(sentence, cited, not reason, reason))
    return _answers_the_kind(out, question)


def _given(sentence: str, n_passages: int) -> tuple[int, ...]:
    """The passages a sentence cites that the prompt gave, each once, in order."""
    return tuple(n for n in dict.fromkeys(cited_numbers(sentence)) if 1 <= n <= n_passages)


def _answers_the_kind(verdicts: list[Verdict], question: str) -> list[Verdict]:
    """Check 10, on what is left to show: the answer as a whole must give the amount a
    "how often / long / many …" question asks for (context may follow the sentence that
    gives it)."""
    kept = [v for v in verdicts if v.ok]
    if not kept or not _AMOUNT_ASKED.search(question):
        return verdicts
    if any(gives_amount(strip_markers(v.sentence)) for v in kept):
        return verdicts
    reason = "the question asks for an amount and the answer gives none"
    for v in kept:
        log.info("removed an unsupported sentence (%s): %r", reason, v.sentence[:200])
    return [replace(v, ok=False, reason=reason) if v.ok else v for v in verdicts]


def cite(sentence: str, passages: Sequence[str]) -> str:
    """The sentence cited where its words are: the markers it gave that the passages
    back, else the passage that backs it best, else none. Small models often answer
    right but cite wrong or not at all. A copied passage header gives ""."""
    if any(formats.of(m.group(1)) for m in _HEADER_COPY.finditer(sentence)):
        return ""
    found = cited_numbers(sentence)
    cited = [n for n in found if 1 <= n <= len(passages)]
    if len(cited) < len(found):
        log.warning(
            "removed citation markers pointing at no passage: %s",
            [n for n in found if n not in cited],
        )
    scores = [support(sentence, p) for p in passages]
    best = max(range(len(passages)), key=lambda i: scores[i]) if passages else -1
    chosen = [n for n in cited if scores[n - 1] >= KEEP_CITATION]
    if not chosen and best >= 0 and scores[best] >= ADD_CITATION:
        chosen = [best + 1]
    bare = CITATION_MARKER.sub("", sentence)
    bare = re.sub(r"^\s*according to\s*[,:]?\s*", "", bare, flags=re.I).strip()
    if bare and bare[0].islower():
        bare = bare[0].upper() + bare[1:]
    tail = ""
    if bare and bare[-1] in ".!?":
        bare, tail = bare[:-1].rstrip(), bare[-1]
    marks = format_markers(chosen)
    return f"{bare} {marks}{tail}" if marks else bare + tail


def support(sentence: str, passage: str) -> float:
    """Share of the sentence's words that the passage contains; 0 when it states a
    number the passage does not contain, a claim the passage does not support."""
    plain = CITATION_MARKER.sub(" ", sentence)
    words = {
        w.lower().strip("`.:")
        for w in _CLAIM_WORD.findall(plain)
        if w.lower() not in CORE_STOP_WORDS and (len(w) > 2 or w.isdigit())
    }
    if not words:
        return 0.0
    haystack = passage.lower()
    numbers = set(re.findall(r"\d+(?:[.:]\d+)?", plain))
    if any(not re.search(rf"(?<![\d.]){re.escape(n)}(?![\d])", haystack) for n in numbers):
        return 0.0
    return sum(1 for w in words if w in haystack) / len(words)


def _recite(bare: str, n: int) -> str:
    tail = bare[-1] if bare[-1:] in ".!?" else "."
    return f"{bare.rstrip('.!?').rstrip()} {format_markers([n])}{tail}"


def _problem(
    bare: str, cited: tuple[int, ...], passages: Sequence[str], evidence: EvidenceSet
) -> str:
    """Why a sentence is not backed by the passages it cites ('' when it is)."""
    if not cited:
        return "cites no passage it was given"
    if not any(c.isalnum() for c in bare):
        return "says nothing"
    hay = " ".join(passages[n - 1] for n in cited).lower()
    # rare_terms: the fact tokens plus capitalised names ("Monday", "Secondary", "Vault").
    missing = [t for t in rare_terms(bare) if not contains(hay, t)]
    if missing:
        return f"{missing[0]!r} is not in the cited passage"
    for token in (t for t in fact_tokens(bare) if _NUMBER.match(t)):
        if not any(same_sense(bare, token, passages[n - 1]) for n in cited):
            return f"{token!r} appears in the cited passage in another sense"
    if _DANGLING.search(bare) or _HEADLESS.match(bare):
        return "it is not a whole sentence"
    quotes = [e.sentence.text for n in cited if (e := evidence.for_claim(n - 1, bare, widen=False))]
    if overlap(bare, " ".join(quotes)) < MIN_OVERLAP:
        return "its words do not match the cited lines"
    return ""


def _against_question(
    bare: str, cited: tuple[int, ...], asked: set[str], words: Sequence[set[str]]
) -> str:
    """Checks 8 and 9, which read the sentence's words against the question's (`asked`)
    and its cited passages' (`words`: each passage's stems, title and heading included).
    8: a question word it uses that the cited passages lack and another given one has.
    9: its words beyond the question's, in the cited passages at a share below MIN_NEW."""
    if not cited:
        return ""
    have = set().union(*(words[n - 1] for n in cited))
    elsewhere = set().union(*(w for n, w in enumerate(words, start=1) if n not in cited)) - have
    missing = [w for w in content_words(bare) if (s := stem(w)) in asked and s in elsewhere]
    if missing:
        return f"the question's {missing[0]!r} is not in the cited passage"
    new = stems(bare) - asked
    if new and len(new & have) / len(new) < MIN_NEW:
        return "what it adds to the question is not in the cited passage"
    return ""


def echoes(claim: str, question: str) -> bool:
    """Whether every content word and fact of `claim` is the asker's own. Its words then
    match the docs only as far as the question does, so word overlap proves nothing:
    "Yes, it is ok to bounce ledger at 2am UTC" (the docs require an approval then), or
    "Git diff shows my file as a delete plus an add" (the question, read back). With no
    question: whether it has no content word and no fact at all ("Yes [1].")."""
    asked = question.lower()
    if any(not contains(asked, t) for t in fact_tokens(claim)):
        return False
    return stems(claim) <= stems(question)


def gives_amount(sentence: str) -> bool:
    """Whether a sentence states an amount or frequency: a number, or a word such as
    "hourly", "all" or "never" (check 10)."""
    if re.search(r"\d", sentence):
        return True
    return any(w.lower() in _AMOUNT_WORDS for w in re.findall(r"[A-Za-z]+", sentence))


def overlap(claim: str, quote: str) -> float:
    """Share of the claim's content words (stemmed) found in the quote."""
    want = stems(claim)
    return len(want & stems(quote)) / len(want) if want else 1.0


def same_sense(sentence: str, number: str, passage: str) -> bool:
    """Whether some clause of the passage holding `number` shares a content word with
    the sentence's own clause around it: the number is used for the same thing."""
    own = _clause_around(sentence, number)
    if not own:
        return True  # "It is 125." asserts nothing beyond the number itself
    clauses = _CLAUSE.split(passage)
    for i, clause in enumerate(clauses):
        # The clause before counts too: "Duration: about 15 minutes" labels its value.
        near = f"{clauses[i - 1] if i else ''} {clause}"
        if contains(clause.lower(), number) and own & _stems_without(near, number):
            return True
    return False


def _clause_around(sentence: str, number: str) -> set[str]:
    for clause in _CLAUSE.split(sentence):
        if contains(clause.lower(), number):
            return _stems_without(clause, number)
    return set()


def _stems_without(clause: str, number: str) -> set[str]:
    unit = {stem(w) for w in number.split()[1:]}  # "7 days": "days" is not context
    return stems(clause) - unit
