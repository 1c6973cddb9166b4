"""Citation checking: markers must point at passages that were really retrieved."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from knowledge.text import cited_numbers, format_markers, rewrite_markers

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CheckedText:
    text: str
    used: tuple[int, ...]  # passage numbers (1-based, as in the prompt), in order of first use
    invalid: tuple[int, ...]


def check_citations(text: str, n_passages: int) -> CheckedText:
    """Drop markers that point at no passage and renumber the rest 1..m by first use,
    so the sources list shows exactly what the answer used."""
    found = list(dict.fromkeys(cited_numbers(text)))
    used = [n for n in found if 1 <= n <= n_passages]
    invalid = [n for n in found if not 1 <= n <= n_passages]
    renumber = {old: new for new, old in enumerate(used, start=1)}

    def rewrite(numbers: list[int]) -> str:
        return format_markers(list(dict.fromkeys(renumber[n] for n in numbers if n in renumber)))

    cleaned = rewrite_markers(text, rewrite)
    # A removed marker leaves a space before the sentence's stop ("See [7]." → "See .");
    # a colon that opens a Sphinx role (":const:`WARNING`") is not such a stop.
    cleaned = re.sub(r"[ \t]+([.,;:!?])(?=\s|$)", r"\1", cleaned)
    cleaned = re.sub(r"[ \t]{2,}", " ", cleaned).strip()
    if invalid:
        log.warning("removed citation markers pointing at no passage: %s", invalid)
    return CheckedText(cleaned, tuple(used), tuple(invalid))
