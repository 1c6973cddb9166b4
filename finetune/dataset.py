"""The versioned training set: cited answers, abstentions and user feedback, each as the
exact completion prompt the engine sends (`engine.prompting.build_prompt`) and the
answer we want back. A question's split comes from its hash, so a held-out question
stays held out in every later version."""

from __future__ import annotations

import hashlib
import json
import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from engine import DECLINE, Passage, Sentence, build_prompt, is_rst, model_view, passage_sentences
from engine.evaluation import (
    Question,
    feedback_records,
    feedback_target,
    keywords_of,
    question_for,
    unanswerable_questions,
)
from finetune.config import FinetuneConfig

log = logging.getLogger(__name__)

ABSTAIN_COMPLETION = f" {DECLINE}\n"
# Tokens kept free beside prompt + answer within max_seq_tokens: BOS, and the few tokens
# by which the whole prompt can tokenize longer than its pieces counted one by one.
_SEQ_SLACK = 8
Search = Callable[[str], Sequence[Passage]]
CountTokens = Callable[[str], int]


@dataclass(frozen=True)
class Example:
    id: str
    # "cited", "abstain" (a question the docs do not answer), "distractor" (an answerable
    # question shown only passages that miss the answer), "feedback"
    kind: str
    question: str
    prompt: str
    completion: str  # starts with a space (the prompt ends "Answer:"), ends with "\n"
    gold: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        return {**d, "gold": list(self.gold), "keywords": list(self.keywords)}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Example:
        return cls(**{**d, "gold": tuple(d["gold"]), "keywords": tuple(d["keywords"])})

    def as_question(self) -> Question | None:
        """The example as an evaluation question asked through retrieval, or None for a
        distractor example: through retrieval its question finds its real passage, so
        "abstain" would be the wrong expectation there."""
        if self.kind == "distractor":
            return None
        kind = "unanswerable" if self.kind == "abstain" else "answerable"
        return Question(self.id, self.question, self.gold, self.keywords, kind)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Dataset:
    version: str
    path: Path
    train: tuple[Example, ...]
    heldout: tuple[Example, ...]

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {"train": len(self.train), "heldout": len(self.heldout)}
        for e in self.train:
            out[f"train_{e.kind}"] = out.get(f"train_{e.kind}", 0) + 1
        return out


def supporting_sentence(c: Passage, keywords: Sequence[str]) -> str:
    """The passage's sentence (list item, table row) holding the most keywords, as the
    engine quotes it (engine.evidence): exact doc text, whitespace folded, as the model
    reads it in the prompt (AsciiDoc's `linkgit:git-push[1]` as git-push(1): a target
    copying its "[1]" would teach a citation that is none)."""
    units = passage_sentences(c.text, rst=is_rst(c.source))
    sentences = units or [Sentence(0, len(c.text), c.text)]
    best = max(sentences, key=lambda s: sum(1 for k in keywords if k.lower() in s.text.lower()))
    return " ".join(model_view(best.text, c.source).split())


def cited_answer(c: Passage, n: int, keywords: Sequence[str]) -> str:
    """The supporting sentence, verbatim, cited: what the engine's checks keep (every
    token is in the passage), so the model learns to pick the right line, not to
    paraphrase it."""
    pick = supporting_sentence(c, keywords).rstrip(" ")
    tail = pick[-1] if pick[-1:] in ".!?" else "."
    return f"{pick.rstrip('.!?:; ')} [{n}]{tail}"


def split_of(question: str, fraction: float) -> str:
    h = int(hashlib.sha1(" ".join(question.lower().split()).encode()).hexdigest()[:8], 16)
    return "heldout" if (h % 10_000) / 10_000 < fraction else "train"


def _prompt(
    question: str,
    passages: Sequence[Passage],
    count: CountTokens,
    budget: int,
    *,
    completion: str,
    max_seq_tokens: int,
) -> tuple[str, list[Passage]]:
    """The completion prompt and the passages it holds. The budget is capped so that the
    prompt and `completion` fit max_seq_tokens: training drops longer examples."""
    budget = min(budget, max_seq_tokens - count(completion) - _SEQ_SLACK)
    prompt, kept = build_prompt(question, passages, count_tokens=count, budget_tokens=budget)
    return prompt.completion, kept


def build_examples(
    chunks: Sequence[Passage],
    cfg: FinetuneConfig,
    *,
    count_tokens: CountTokens,
    budget_tokens: int,
    search: Search | None = None,
    feedback: Sequence[dict[str, Any]] = (),
) -> list[Example]:
    """Cited examples from the docs (and distractor ones that must decline), declines for
    questions the docs do not cover, and examples from people's feedback."""
    rng = random.Random(cfg.seed)
    k = max(1, cfg.passages_per_example)

    def fit(question: str, passages: Sequence[Passage], completion: str) -> Any:
        return _prompt(question, list(passages), count_tokens, budget_tokens,
                       completion=completion, max_seq_tokens=cfg.max_seq_tokens)  # fmt: skip

    out: list[Example] = []
    for c in chunks:
        out += _doc_examples(c, chunks, k, rng, fit)
    for uq in unanswerable_questions():
        found = (
            list(search(uq.question))[:k]
            if search
            else [d for d in rng.sample(list(chunks), min(k, len(chunks)))]
        )
        prompt, _ = fit(uq.question, found, ABSTAIN_COMPLETION)
        out.append(Example(uq.id, "abstain", uq.question, prompt, ABSTAIN_COMPLETION))
    for r in feedback:
        ex = _feedback_example(r, k, count_tokens, budget_tokens, cfg.max_seq_tokens, search)
        if ex:
            out.append(ex)
    return out


def _doc_examples(
    c: Passage, chunks: Sequence[Passage], k: int, rng: random.Random, fit: Any
) -> list[Example]:
    """The chunk's question over the chunk and k - 1 others (cite it), and sometimes over
    k others that do not hold the answer (decline)."""
    q = question_for(c)
    kws = keywords_of(c.text)
    if not q or not kws:
        return []
    out: list[Example] = []
    others = [o for o in chunks if o.source != c.source]
    passages = rng.sample(others, min(k - 1, len(others)))
    slot = rng.randrange(len(passages) + 1)
    passages.insert(slot, c)
    answer = f" {cited_answer(c, slot + 1, kws)}\n"
    prompt, kept = fit(q, passages, answer)
    # The label must cite the gold passage as the prompt holds it, whole: when the
    # budget trimmed or dropped it, the example would teach citing the wrong thing.
    if slot < len(kept) and kept[slot] == c:
        out.append(
            Example(f"cite-{c.id[:12]}", "cited", q, prompt, answer, (c.source,), tuple(kws))
        )
    else:
        log.debug("skipped %s: its gold passage does not fit the prompt budget", c.id)
    if others and rng.random() < 0.3:
        wrong = rng.sample(others, min(k, len(others)))
        prompt, _ = fit(q, wrong, ABSTAIN_COMPLETION)
        out.append(Example(f"miss-{c.id[:12]}", "distractor", q, prompt, ABSTAIN_COMPLETION))
    return out


def _feedback_example(
    r: dict[str, Any],
    k: int,
    count: CountTokens,
    budget: int,
    max_seq_tokens: int,
    search: Search | None,
) -> Example | None:
    """A helpful answer (or the user's correction) over what retrieval finds now."""
    question = str(r.get("question") or "").strip()
    target = feedback_target(r)  # None for "not_helpful": nothing to imitate
    if not question or target is None or search is None:
        return None
    passages = list(search(question))[:k]
    if not passages:
        return None
    completion = f" {target}\n"
    prompt, _ = _prompt(
        question, passages, count, budget, completion=completion, max_seq_tokens=max_seq_tokens
    )
    sources = tuple(dict.fromkeys(p.source for p in passages))
    h = hashlib.sha1(question.encode()).hexdigest()[:12]
    return Example(
        f"fb-{h}", "feedback", question, prompt, completion, sources, tuple(keywords_of(target))
    )


def dedupe(examples: Sequence[Example]) -> list[Example]:
    seen: set[str] = set()
    out = []
    for e in examples:
        key = hashlib.sha1(f"{e.prompt}\x00{e.completion}".encode()).hexdigest()
        if key not in seen:
            seen.add(key)
            out.append(e)
    return out


def build_dataset(
    root: Path,
    chunks: Sequence[Passage],
    cfg: FinetuneConfig,
    *,
    count_tokens: CountTokens,
    budget_tokens: int,
    search: Search | None = None,
    home: Path | None = None,
    state_url: str = "",
) -> Dataset:
    """Write <root>/<version>/{train,heldout}.jsonl and meta.json. Feedback comes from
    the store at `state_url` (replicas' PostgreSQL) or else the one in `home`."""
    feedback = feedback_records(home, state_url) if home else []
    examples = dedupe(
        build_examples(
            chunks,
            cfg,
            count_tokens=count_tokens,
            budget_tokens=budget_tokens,
            search=search,
            feedback=feedback,
        )
    )
    train = [e for e in examples if split_of(e.question, cfg.holdout_fraction) == "train"]
    heldout = [e for e in examples if split_of(e.question, cfg.holdout_fraction) == "heldout"]
    if cfg.max_examples and len(train) > cfg.max_examples:
        train = random.Random(cfg.seed).sample(train, cfg.max_examples)
    digest = hashlib.sha1("".join(e.id + e.completion for e in examples).encode()).hexdigest()[:8]
    version = f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{digest}"
    path = root / version
    path.mkdir(parents=True, exist_ok=True)
    for name, rows in (("train", train), ("heldout", heldout)):
        (path / f"{name}.jsonl").write_text(
            "".join(json.dumps(e.to_json()) + "\n" for e in rows), "utf-8"
        )
    ds = Dataset(version, path, tuple(train), tuple(heldout))
    meta = {
        "version": version,
        "counts": ds.counts(),
        "feedback_records": len(feedback),
        "config": cfg.to_json(),
    }
    (path / "meta.json").write_text(json.dumps(meta, indent=2), "utf-8")
    log.info("data set %s: %s", version, ds.counts())
    return ds
