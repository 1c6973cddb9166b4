"""Whether to decline before generating: signals from the evidence, not only from the
best chunk's similarity (which ranks well but says little about whether the answer is
there). Thresholds live in `RetrievalSettings`; docs/answers.md#abstention has the table of
operating points they were chosen from (bench/calibrate_abstention.py)."""

from __future__ import annotations

from dataclasses import dataclass

from engine.evidence import EvidenceSet
from engine.terms import looks_like_other_language
from knowledge.text import stems


@dataclass(frozen=True)
class Signals:
    similarity: float  # best passage's cosine similarity (retrieval)
    relevance: float  # best evidence sentence's cosine similarity
    coverage: float  # share of the question's content words the passages hold
    missing: tuple[str, ...]  # the question's names found in no passage given to the model

    @property
    def confidence(self) -> float:
        """One number to threshold: sentence relevance, raised by how much of the
        question the passages cover."""
        return self.relevance + COVERAGE_WEIGHT * self.coverage


COVERAGE_WEIGHT = 0.5


def signals(similarity: float, evidence: EvidenceSet) -> Signals:
    return Signals(similarity, evidence.relevance, evidence.coverage, evidence.missing)


def decline_reason(question: str, s: Signals, *, min_confidence: float) -> str:
    """A user-facing reason to decline, or '' to go on and answer."""
    if looks_like_other_language(question):
        return "The question does not look like English, the language of these docs."
    if not stems(question):
        return "The question has no words to look for in the docs."
    if s.missing:
        names = ", ".join(f"'{t}'" for t in s.missing[:3])
        return f"None of the closest passages mentions {names}."
    if s.confidence < min_confidence:
        return (
            f"No passage answers this closely enough (evidence relevance {s.relevance:.2f}, "
            f"question coverage {s.coverage:.0%})."
        )
    return ""
