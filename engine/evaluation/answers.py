"""Answer quality per configuration: base, rag, adapter, hybrid.

A configuration is a generator, with or without retrieval. Scoring works on the raw
model output (before the engine drops bad markers), because citation validity is
exactly what that clean-up hides.
"""

from __future__ import annotations

import json
import logging
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from engine.errors import ConfigError, GeneratorUnavailable
from engine.ports import Generator
from engine.prompting import build_prompt, is_declined, prompt_budget
from engine.settings import Settings
from engine.types import Prompt
from knowledge.documents import document_name
from knowledge.text import cited_numbers

log = logging.getLogger(__name__)

# "evidence": retrieval and evidence selection alone (no model): the bar a model must beat.
CONFIG_NAMES = ("base", "rag", "adapter", "hybrid", "evidence")
Kind = Literal["answerable", "unanswerable"]
RECALL_K = 5


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    gold: tuple[str, ...] = ()
    answer_keywords: tuple[str, ...] = ()
    kind: Kind = "answerable"

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Question:
        kind = data.get("kind") or ("answerable" if data.get("gold") else "unanswerable")
        if kind not in ("answerable", "unanswerable"):
            raise ConfigError(
                f"Question {data.get('id')!r}: kind must be answerable or "
                f"unanswerable, not {kind!r}."
            )
        return cls(
            id=str(data["id"]),
            question=str(data["question"]),
            gold=tuple(data.get("gold") or ()),
            answer_keywords=tuple(data.get("answer_keywords") or ()),
            kind="answerable" if kind == "answerable" else "unanswerable",
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "question": self.question,
            "gold": list(self.gold),
            "answer_keywords": list(self.answer_keywords),
            "kind": self.kind,
        }


def load_questions(path: Path) -> list[Question]:
    out: list[Question] = []
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ConfigError(f"Cannot read the questions file {path}: {exc.strerror}") from exc
    for i, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            out.append(Question.from_json(json.loads(line)))
        except (ValueError, KeyError, TypeError) as exc:
            raise ConfigError(f"{path}:{i}: not a question record ({exc}).") from exc
    if not out:
        raise ConfigError(f"The questions file {path} holds no questions.")
    return out


def write_questions(path: Path, questions: Sequence[Question]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(q.to_json()) + "\n" for q in questions), "utf-8")


# -- metrics (pure functions: unit-tested on hand-made answers) --------------------------
def is_gold(source: str, gold: Sequence[str]) -> bool:
    """Whether a source is one a question names as gold: the same path, or a path that
    ends with the gold entry (`run.md` names `reference/commandline/run.md`), since
    question files are often written with file names only. A gzipped source is its
    document: `run.md` names `run.md.gz` too (Debian gzips its larger docs)."""
    source = document_name(source)
    return any(source == g or source.endswith(f"/{g.lstrip('/')}") for g in gold)


def recall_at_k(retrieved: Sequence[str], gold: Sequence[str], k: int = RECALL_K) -> float | None:
    """Share of gold sources among the top k retrieved; None when nothing is gold."""
    if not gold:
        return None
    top = retrieved[:k]
    return sum(1 for g in set(gold) if any(is_gold(s, [g]) for s in top)) / len(set(gold))


def _norm(text: str) -> str:
    return " ".join(text.replace("`", "").lower().split())


def keyword_recall(text: str, keywords: Sequence[str]) -> float | None:
    if not keywords:
        return None
    hay = _norm(text)
    return sum(1 for k in keywords if _norm(k) in hay) / len(keywords)


def fact_shown(shown: str, keywords: Sequence[str]) -> bool | None:
    """Every answer keyword appears in what the user reads (answer plus quotes)."""
    recall = keyword_recall(shown, keywords)
    return None if recall is None else recall == 1.0


def citation_validity(text: str, n_passages: int) -> float | None:
    """Share of markers that point at a passage the prompt held; None without markers."""
    found = cited_numbers(text)
    if not found:
        return None
    return sum(1 for n in found if 1 <= n <= n_passages) / len(found)


def citation_precision(
    text: str, passage_sources: Sequence[str], gold: Sequence[str]
) -> float | None:
    """Share of valid markers whose passage comes from a gold source."""
    n = len(passage_sources)
    cited = [passage_sources[i - 1] for i in cited_numbers(text) if 1 <= i <= n]
    if not cited or not gold:
        return None
    return sum(1 for s in cited if is_gold(s, gold)) / len(cited)


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else 0.0


def p95(values: Sequence[float]) -> float:
    """The nearest-rank 95th percentile (0 for no values)."""
    if not values:
        return 0.0
    s = sorted(values)
    return s[min(len(s) - 1, round(0.95 * (len(s) - 1)))]


# -- running -----------------------------------------------------------------------------
class RecordingGenerator:
    """Delegates to a generator and keeps its last prompt and raw output."""

    def __init__(self, inner: Generator) -> None:
        self.inner = inner
        self.last_prompt: Prompt | None = None
        self.last_text: str | None = None

    model = property(lambda self: self.inner.model)
    adapter = property(lambda self: self.inner.adapter)
    context_tokens = property(lambda self: self.inner.context_tokens)
    max_tokens = property(lambda self: self.inner.max_tokens)

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)

    def reset(self) -> None:
        self.last_prompt, self.last_text = None, None

    def generate(self, prompt: Prompt) -> str:
        return "".join(self.stream(prompt))

    def stream(self, prompt: Prompt) -> Iterator[str]:
        self.last_prompt = prompt
        parts: list[str] = []
        for token in self.inner.stream(prompt):
            parts.append(token)
            yield token
        self.last_text = "".join(parts)


@dataclass(frozen=True)
class EvalConfig:
    name: str
    generator: Generator | None  # None: evidence selection alone
    retrieval: bool


@dataclass(frozen=True)
class Outcome:
    question_id: str
    config: str
    kind: Kind
    text: str
    abstained: bool
    latency_s: float
    tokens: int
    recall_at_5: float | None = None
    keyword_recall: float | None = None
    citation_precision: float | None = None
    citation_validity: float | None = None
    abstention_correct: bool | None = None  # only for unanswerable questions
    error: str = ""
    fact_shown: bool | None = None  # answerable: every keyword in answer + quotes
    confidently_wrong: bool = False  # shown as an answer without the fact, or not answerable
    fact_recall: bool | None = None  # answerable: every keyword in the passages given


def grade(
    q: Question,
    config: str,
    *,
    raw: str,
    shown: str,
    abstained: bool,
    passage_sources: Sequence[str],
    retrieved: Sequence[str] | None,
    latency_s: float,
    tokens: int,
    error: str = "",
    quotes: str = "",
    passages_text: str | None = None,
) -> Outcome:
    """Score one answer. `raw` is the model's output (markers as written), `shown` what
    the user saw; keyword recall looks in both so engine clean-up costs nothing, but
    "fact shown" only in what the user reads: `shown` plus the citations' `quotes`.
    An answer that opens by declining counts as abstaining (the engine's own check)."""
    abstained = abstained or is_declined(shown or raw)
    answerable = q.kind == "answerable"
    shown_fact = fact_shown(f"{shown}\n{quotes}", q.answer_keywords) if answerable else None
    wrong = not abstained and not error and (not answerable or not shown_fact)
    in_passages = None
    if answerable and passages_text is not None:
        in_passages = fact_shown(passages_text, q.answer_keywords)
    return Outcome(
        question_id=q.id,
        config=config,
        kind=q.kind,
        text=shown or raw,
        abstained=abstained,
        latency_s=latency_s,
        tokens=tokens,
        recall_at_5=recall_at_k(retrieved, q.gold) if retrieved is not None else None,
        keyword_recall=keyword_recall(f"{raw}\n{shown}", q.answer_keywords) if answerable else None,
        citation_precision=citation_precision(raw, passage_sources, q.gold) if answerable else None,
        citation_validity=citation_validity(raw, len(passage_sources)),
        abstention_correct=None if answerable else abstained,
        error=error,
        fact_shown=shown_fact,
        confidently_wrong=wrong,
        fact_recall=in_passages,
    )


def _ask_without_retrieval(gen: Generator, q: Question) -> tuple[str, float]:
    t0 = time.perf_counter()
    prompt, _ = build_prompt(
        q.question,
        [],
        count_tokens=gen.count_tokens,
        budget_tokens=prompt_budget(gen.context_tokens, gen.max_tokens),
    )
    text = gen.generate(prompt)
    return text, time.perf_counter() - t0


def _warm_up(gen: Generator, q: Question) -> None:
    """One untimed answer, so the first timed question does not pay the model load."""
    try:
        _ask_without_retrieval(gen, q)
    except GeneratorUnavailable as exc:  # the timed questions record the error
        log.warning("warm-up failed: %s", exc)


def evaluate(
    settings: Settings,
    questions: Sequence[Question],
    configs: Sequence[EvalConfig],
    *,
    embedder: Any = None,
    collection: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[Outcome]:
    """Ask every question in every configuration and grade each answer."""
    from engine.factory import build_engine

    settings = replace(settings, answer_cache=False)  # a cached answer has no latency
    outcomes: list[Outcome] = []
    retrieved: dict[str, list[str]] = {}
    given: dict[str, str] = {}  # the text of the passages a model is given, per question
    search_engine = None
    if any(c.retrieval for c in configs):
        search_engine = build_engine(settings, embedder=embedder, with_generator=False)
        for q in questions:
            hits = search_engine.search(q.question, collection=collection, k=RECALL_K)
            retrieved[q.id] = [p.source for p in hits]
            top = hits[: settings.retrieval.prompt_passages]
            given[q.id] = "\n".join(p.text for p in top)
    for cfg in configs:
        rec = RecordingGenerator(cfg.generator) if cfg.generator is not None else None
        engine = None
        if cfg.retrieval and search_engine is not None:
            # one store and embedder for every configuration; only the generator differs
            engine = build_engine(
                settings, store=search_engine.store, embedder=search_engine.embedder,
                generator=rec, with_generator=rec is not None,
            )  # fmt: skip
        if questions and cfg.generator is not None:
            _warm_up(cfg.generator, questions[0])
        for q in questions:
            shown, quotes, latency, abstained, error = _answer_one(engine, rec, q, collection)
            raw = rec.last_text or "" if rec else ""
            sources = rec.last_prompt.sources if rec and rec.last_prompt else ()
            outcomes.append(
                grade(
                    q, cfg.name, raw=raw, shown=shown, abstained=abstained,
                    passage_sources=sources,
                    retrieved=retrieved.get(q.id) if cfg.retrieval else None,
                    latency_s=latency, tokens=rec.count_tokens(raw) if rec and raw else 0,
                    error=error, quotes=quotes,
                    passages_text=given.get(q.id) if cfg.retrieval else None,
                )
            )  # fmt: skip
            if progress:
                progress(f"{cfg.name} {q.id}: {latency:.2f}s")
    return outcomes


def _answer_one(
    engine: Any, rec: RecordingGenerator | None, q: Question, collection: str | None
) -> tuple[str, str, float, bool, str]:
    """(shown text, quotes the user reads, latency, abstained, error) for one question.
    Without a generator the engine answers with the evidence alone: not an error."""
    if rec is not None:
        rec.reset()
    try:
        if engine is not None:
            answer = engine.ask(q.question, collection=collection)
            quotes = "\n".join(c.quote for c in answer.citations) if answer.cites_sources else ""
            error = answer.notice if answer.degraded and rec is not None else ""
            return answer.text, quotes, answer.timings.get("total", 0.0), answer.abstained, error
        if rec is None:
            return "", "", 0.0, True, "no generator and no retrieval"
        shown, latency = _ask_without_retrieval(rec, q)
        return shown, "", latency, is_declined(shown), ""
    except GeneratorUnavailable as exc:
        return "", "", 0.0, False, str(exc)


# -- summaries -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Summary:
    config: str
    questions: int
    recall_at_5: float | None
    keyword_recall: float | None
    citation_precision: float | None
    citation_validity: float | None
    abstention_accuracy: float | None  # unanswerable questions the answer abstained on
    false_abstention: float | None  # answerable questions it abstained on
    latency_p50_s: float
    latency_p95_s: float
    tokens_per_answer: float
    errors: int = 0
    fact_shown: float | None = None  # answerable questions whose fact the user reads
    confidently_wrong: float | None = None  # all questions: shown as an answer, but wrong
    fact_recall: float | None = None  # answerable: fact in the passages given (the ceiling)

    @property
    def declined_correctly(self) -> float | None:
        return self.abstention_accuracy

    @property
    def declined_wrongly(self) -> float | None:
        return self.false_abstention

    @property
    def score(self) -> float:
        """The single number the retraining gate compares, built from what users feel:
        fact shown, unanswerable declined, answerable not declined, and (weighing most,
        three times) not confidently wrong. A wrong answer with a citation borrows the
        docs' authority; a decline only costs a look at the passages."""
        parts = [
            (self.fact_shown, 1.0),
            (self.declined_correctly, 1.0),
            (None if self.declined_wrongly is None else 1.0 - self.declined_wrongly, 1.0),
            (None if self.confidently_wrong is None else 1.0 - self.confidently_wrong, 3.0),
        ]
        measured = [(v, w) for v, w in parts if v is not None]
        total = sum(w for _, w in measured)
        return sum(v * w for v, w in measured) / total if total else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "declined_correctly": self.declined_correctly,
            "declined_wrongly": self.declined_wrongly,
            "score": round(self.score, 4),
        }


def _mean(values: Sequence[float | None]) -> float | None:
    vals = [v for v in values if v is not None]
    return statistics.fmean(vals) if vals else None


def _rate(flags: Sequence[bool | None]) -> float | None:
    vals = [1.0 if f else 0.0 for f in flags if f is not None]
    return statistics.fmean(vals) if vals else None


def summarize(outcomes: Sequence[Outcome]) -> list[Summary]:
    order: list[str] = []
    for o in outcomes:
        if o.config not in order:
            order.append(o.config)
    out = []
    for name in order:
        rows = [o for o in outcomes if o.config == name]
        ans = [o for o in rows if o.kind == "answerable"]
        una = [o for o in rows if o.kind == "unanswerable"]
        lat = [o.latency_s for o in rows if not o.error]
        out.append(
            Summary(
                config=name,
                questions=len(rows),
                recall_at_5=_mean([o.recall_at_5 for o in rows]),
                keyword_recall=_mean([o.keyword_recall for o in ans]),
                citation_precision=_mean([o.citation_precision for o in ans]),
                # validity over answers that should cite: no markers at all scores 0
                citation_validity=_mean(
                    [
                        0.0 if o.citation_validity is None else o.citation_validity
                        for o in ans
                        if not o.abstained
                    ]
                ),
                abstention_accuracy=_mean([1.0 if o.abstention_correct else 0.0 for o in una]),
                false_abstention=_mean([1.0 if o.abstained else 0.0 for o in ans]),
                latency_p50_s=median(lat),
                latency_p95_s=p95(lat),
                tokens_per_answer=statistics.fmean([o.tokens for o in rows]) if rows else 0.0,
                errors=sum(1 for o in rows if o.error),
                fact_shown=_rate([o.fact_shown for o in ans]),
                confidently_wrong=_rate([o.confidently_wrong for o in rows]),
                fact_recall=_rate([o.fact_recall for o in ans]),
            )
        )
    return out


@dataclass(frozen=True)
class EvalResult:
    summaries: tuple[Summary, ...]
    outcomes: tuple[Outcome, ...] = field(default=(), repr=False)
    recommendation: str = ""
    notes: tuple[str, ...] = ()

    def summary(self, name: str) -> Summary | None:
        return next((s for s in self.summaries if s.config == name), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "summaries": [s.to_json() for s in self.summaries],
            "recommendation": self.recommendation,
            "notes": list(self.notes),
            "outcomes": [asdict(o) for o in self.outcomes],
        }


def _delta(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b


def recommendation(summaries: Sequence[Summary]) -> str:
    """One plain sentence: what retrieval and the adapter each add, and what to run."""
    by = {s.config: s for s in summaries}
    parts = []
    if "rag" in by and "base" in by:
        d = _delta(by["rag"].keyword_recall, by["base"].keyword_recall)
        if d is not None:
            parts.append(f"retrieval adds {d:+.2f} keyword recall")
    if "hybrid" in by and "rag" in by:
        h, r = by["hybrid"], by["rag"]
        dv = _delta(h.citation_validity, r.citation_validity) or 0.0
        dl = h.latency_p50_s - r.latency_p50_s
        cost = (
            "at no latency cost"
            if abs(dl) < 0.05 * max(r.latency_p50_s, 0.01) + 0.02
            else f"at {dl:+.2f} s p50 latency"
        )
        parts.append(f"the adapter adds {dv:+.2f} citation validity {cost}")
    model = by.get("hybrid") or by.get("rag")
    if "evidence" in by and model is not None:
        d = _delta(model.fact_shown, by["evidence"].fact_shown)
        w = _delta(model.confidently_wrong, by["evidence"].confidently_wrong)
        if d is not None and w is not None:
            parts.append(
                f"{model.config} vs evidence alone: {d:+.2f} fact shown, {w:+.2f} confidently wrong"
            )
    if not summaries:
        return "Nothing was evaluated."
    # best score; near-ties (within 0.01) go to the faster configuration
    top = max(s.score for s in summaries)
    best = min((s for s in summaries if s.score >= top - 0.01), key=lambda s: s.latency_p50_s)
    head = "; ".join(parts)
    return f"{head}: run {best.config}" if head else f"run {best.config} (score {best.score:.2f})"


def result(outcomes: Sequence[Outcome], notes: Sequence[str] = ()) -> EvalResult:
    summaries = summarize(outcomes)
    return EvalResult(tuple(summaries), tuple(outcomes), recommendation(summaries), tuple(notes))


def build_configs(
    settings: Settings, names: Sequence[str], *, adapter: str = ""
) -> tuple[list[EvalConfig], list[str]]:
    """Generators for the named configurations; the adapter ones are skipped (with a
    note) when no adapter is given and none is in service."""
    from engine.adapters import read_current
    from engine.factory import build_generator

    bad = [n for n in names if n not in CONFIG_NAMES]
    if bad:
        raise ConfigError(
            f"Unknown configuration(s) {', '.join(bad)}: use {', '.join(CONFIG_NAMES)}."
        )
    g = settings.generator
    if g.backend == "none":
        raise ConfigError("Answer evaluation needs a model: set [generator] backend.")
    notes: list[str] = []
    base_gen = build_generator(
        replace(
            settings, generator=replace(g, use_adapter=False, lora_path="", ollama_adapter_model="")
        )
    )
    adapter_gen = None
    if {"adapter", "hybrid"} & set(names):
        current = read_current(settings.home)
        lora = adapter or g.lora_path or (current.gguf if current else "")
        tag = g.ollama_adapter_model or (current.ollama_model if current else "")
        if (g.backend == "llamacpp" and lora) or (g.backend == "ollama" and tag):
            adapter_gen = build_generator(
                replace(
                    settings,
                    generator=replace(
                        g, use_adapter=False, lora_path=lora, ollama_adapter_model=tag
                    ),
                )
            )
        else:
            notes.append("No adapter given or in service: skipped adapter and hybrid.")
    configs = []
    for name in names:
        if name == "evidence":
            configs.append(EvalConfig(name, None, retrieval=True))
            continue
        gen = adapter_gen if name in ("adapter", "hybrid") else base_gen
        if gen is not None:
            configs.append(EvalConfig(name, gen, retrieval=name in ("rag", "hybrid")))
    return configs, notes
