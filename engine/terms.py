"""The fact-bearing tokens (numbers, durations, versions, flags, config keys, code spans,
paths, identifiers) that must be found verbatim in the docs before a sentence may claim
them, and the names a question asks about. Words, stems and stop words are
knowledge.text's."""

from __future__ import annotations

import itertools
import re

from knowledge.text import STOP_WORDS

# Fact-bearing tokens, most specific first.
_FACT = re.compile(
    r"`[^`\n]{1,80}`"  # a code span
    r"|(?<![\w-])--?[A-Za-z][\w-]*(?:=[^\s,;)]+)?"  # a flag or option (-S, --staged)
    r"|\b\d+(?:[.:]\d+)*\s?(?:%|ms|s|m|h|d|kb|mb|gb|tb|seconds?|minutes?|hours?|days?"
    r"|weeks?|months?|years?|utc)?\b"  # a number, duration, version, time
    r"|\b[A-Za-z_][\w-]*(?:[./][\w-]+)+\b"  # a config key or path (pull.rebase, a/b.md)
    r"|\b[A-Z][A-Z0-9]*_[A-Z0-9_]+\b"  # an environment variable (GIT_DIR)
    r"|\b[a-z]+[A-Z]\w*\b|\b[A-Z][a-z]+[A-Z]\w*\b"  # camelCase / CamelCase identifiers
)
_LEADING_NUMBER = re.compile(r"^\d")


def fact_tokens(text: str) -> list[str]:
    """Tokens a sentence can only claim when its passage holds them verbatim."""
    out = []
    for m in _FACT.finditer(text):
        tok = m.group(0).strip()
        if tok.startswith("`"):
            tok = tok.strip("`").strip()
        if tok and tok not in out:
            out.append(tok)
    return out


def rare_terms(question: str) -> list[str]:
    """The question's exact-match terms: its fact tokens (options, numbers, identifiers,
    code) and capitalised names that are not the sentence's first word."""
    terms = [t for t in fact_tokens(question) if len(t) > 1]
    words = question.split()
    for prev, w in itertools.pairwise(words):
        core = w.strip(".,;:!?()[]\"'`")
        # A capital after a sentence end is grammar, not a name.
        opens = prev[-1:] in ".!?:"
        named = len(core) > 2 and core[0].isupper() and not opens and core.lower() not in STOP_WORDS
        if named and core not in terms and not any(core in t for t in terms):
            terms.append(core)
    return terms


def named_terms(question: str) -> list[str]:
    """The question's rare terms that name a product, service or file the docs would
    have to mention to answer it: capitalised names (GitLab, LFS, the JIRA-123 of
    hotfix/JIRA-123) and dotfiles (.gitlab-ci.yml). The asker's own paths, values and
    lower-case identifiers (services/payments, the nano of EDITOR=nano, release-1.x,
    --format, macOS) are not: docs describe the mechanism, not the asker's instance."""
    out: list[str] = []
    for term in rare_terms(question):
        if f".{term}" in question and "/" not in term:
            out.append(f".{term}")
            continue
        if term.startswith("-") or term[:1].isdigit():
            continue
        for part in term.split("=", 1)[0].split("/"):
            part = re.sub(r"['’]s$", "", part.strip(".,;:!?()[]\"'`*"))  # GitHub's
            if len(part) > 1 and part[0].isupper() and part not in out:
                out.append(part)
    return out


def contains(haystack_lower: str, token: str) -> bool:
    """Whether a token occurs in a (lower-cased) text as a whole token, case-insensitive."""
    t = token.lower()
    pattern = rf"(?<![\w]){re.escape(t)}(?![\w])" if t[:1].isalnum() else re.escape(t)
    if _LEADING_NUMBER.match(t):  # 7 must not match 17 or 7.5
        pattern = rf"(?<![\d.]){re.escape(t)}(?![\d])"
    return re.search(pattern, haystack_lower.replace("`", "")) is not None


def looks_like_other_language(question: str) -> bool:
    """A question in another language (or script) than the docs' English: mostly
    non-Latin letters, or several words and not one English function word among them."""
    letters = [c for c in question if c.isalpha()]
    if letters and sum(1 for c in letters if ord(c) > 0x24F) / len(letters) > 0.3:
        return True
    words = [w.lower() for w in re.findall(r"[^\W\d_]+", question)]
    return len(words) >= 4 and not any(w in _ENGLISH for w in words)


# Words nearly every English question holds at least one of.
_ENGLISH = frozenset(
    """a an the and or of to in on at by for from with is are was were be do does did
    how what when where which who why can could should would will i we you my our it
    this that there if not have has my me us your""".split()  # noqa: SIM905
)
