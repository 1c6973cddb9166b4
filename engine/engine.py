"""The engine: retrieve, decide to abstain, prompt, generate, check citations."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from engine.abstention import decline_reason, signals
from engine.answer_key import answer_key
from engine.citations import check_citations
from engine.errors import ConfigError, GeneratorUnavailable, InvalidQuestion
from engine.evidence import Evidence, EvidenceSet, select_evidence, sentence_lines
from engine.followups import retrieval_query
from engine.ports import Generator
from engine.prompting import build_prompt, is_declined, prompt_budget
from engine.rendering import as_read, is_asciidoc, model_view
from engine.settings import Settings
from engine.terms import contains
from engine.types import Answer, Citation, CollectionInfo, Passage, StreamEvent, Turn
from engine.verify import verify
from knowledge.embedding import Embedder
from knowledge.formats.asciidoc import adoc_inline
from knowledge.formats.rst import rst_inline
from knowledge.fusion import rrf_scores
from knowledge.query import has_content
from knowledge.store import KnowledgeStore, SearchMode
from knowledge.sync import ProgressFn, SyncReport, sync_collection
from knowledge.text import words
from state import AnswerCache

log = logging.getLogger(__name__)

ABSTAIN_TEXT = "The docs don't cover this. The closest passages are listed below."
MODEL_DECLINED_TEXT = "No answer could be written from the closest passages; they are listed below."
DEGRADED_TEXT = "The model is unavailable, so here are the most relevant passages."
# When nothing the model wrote survives the checks, the answer is the evidence itself.
EVIDENCE_INTRO = "The docs say:"
UNBACKED_NOTICE = (
    "The model's answer was not backed by the cited lines, so here is what the docs say."
)
REMOVED_NOTICE = "Removed {n} sentence(s) of the model's answer that the cited lines do not back."


class Engine:
    """Small, typed API: `ask`, `ask_stream`, `search`, `sync`, `collections`.

    Parts are passed in (see `engine.factory.build_engine`); nothing here reads the
    environment or knows which front end is calling.
    """

    def __init__(
        self,
        *,
        settings: Settings,
        store: KnowledgeStore,
        embedder: Embedder,
        generator: Generator | None,
        cache: AnswerCache | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.embedder = embedder
        self.generator = generator
        self.cache = cache

    # -- knowledge ---------------------------------------------------------------------
    def collection_name(self, collection: str | None) -> str:
        return collection or self.settings.default_collection

    def sync(
        self,
        paths: Sequence[Path] | None = None,
        *,
        collection: str | None = None,
        progress: ProgressFn | None = None,
    ) -> SyncReport:
        name = self.collection_name(collection)
        if not paths:
            configured = self.settings.collection(name).paths
            if not configured:
                raise ConfigError(
                    f"No paths given and none configured for collection '{name}'. "
                    f"Pass paths (teamkb index PATH) or set [collections.{name}] paths."
                )
            paths = [Path(p) for p in configured]
        return sync_collection(
            self.store.collection(name),
            self.embedder,
            list(paths),
            max_chars=self.settings.retrieval.chunk_chars,
            progress=progress,
        )

    def collections(self) -> list[CollectionInfo]:
        """Every collection in the index, with its rows, versions and embedding model."""
        return [self.store.info(name) for name in self.store.collections()]

    def collection_info(self, name: str) -> CollectionInfo:
        return self.store.info(name)

    def drop_collection(self, name: str) -> None:
        """Delete a collection and every version of it (refused while it is being indexed)."""
        self.store.drop(name)

    def search(
        self,
        query: str,
        *,
        collection: str | None = None,
        k: int | None = None,
        mode: SearchMode | None = None,
        path_prefix: str | None = None,
    ) -> list[Passage]:
        return self._search(self._search_query(query), collection, k, mode, path_prefix)

    def _search_query(self, query: str) -> str:
        """A query fit to search, or InvalidQuestion saying why not. A query of only
        common words ("how do I do it?") is fit: it finds nothing (an empty list)."""
        query = query.strip()
        if not query:
            raise InvalidQuestion("The search query is empty.")
        limit = self.settings.max_question_chars
        if len(query) > limit:
            raise InvalidQuestion(
                f"The search query is too long ({len(query)} characters; the limit is "
                f"{limit}). Search for the words that matter."
            )
        if not words(query):
            raise InvalidQuestion("The search query has no words in it, only punctuation.")
        return query

    def _search(
        self,
        query: str,
        collection: str | None,
        k: int | None = None,
        mode: SearchMode | None = None,
        path_prefix: str | None = None,
    ) -> list[Passage]:
        name = self.collection_name(collection)
        passages = self.store.collection(name).search(
            text=query,
            vector=self.embedder.embed_query(query),
            mode=mode or self.settings.retrieval.mode,
            k=k or self.settings.retrieval.k,
            path_prefix=path_prefix,
        )
        return [self._linked(p) for p in passages]

    def chunks(self, collection: str | None = None) -> list[Passage]:
        """Every published passage of a collection, in source order (for vocabularies,
        question generation and training data)."""
        name = self.collection_name(collection)
        return [self._linked(p) for p in self.store.collection(name).passages()]

    def _linked(self, p: Passage) -> Passage:
        return replace(p, url=self.citation_url(p.collection, p.source, *p.lines))

    def citation_url(self, collection: str, source: str, start: int, end: int) -> str | None:
        """The link to these lines, or None when the collection has no (usable) template."""
        settings = self.settings.collection(collection)
        url = settings.citation_url(source, start, end)
        if url is None and settings.url:
            log.warning("bad url template for collection %s: %r", collection, settings.url)
        return url

    # -- answers -----------------------------------------------------------------------
    def ask(
        self,
        question: str,
        *,
        collection: str | None = None,
        history: Sequence[Turn] | None = None,
    ) -> Answer:
        answer: Answer | None = None
        for event in self.ask_stream(question, collection=collection, history=history):
            if event.answer is not None:
                answer = event.answer
        assert answer is not None
        return answer

    def cached_answer(
        self,
        question: str,
        *,
        collection: str | None = None,
        history: Sequence[Turn] | None = None,
    ) -> Answer | None:
        """The answer `ask` would return from the cache for the published index, or None
        (never generates). An answer never outlives the index version it was made from."""
        t0 = time.perf_counter()
        request = self._request(question, collection, history)
        return self._from_cache(request, t0)

    def ask_stream(
        self,
        question: str,
        *,
        collection: str | None = None,
        history: Sequence[Turn] | None = None,
        cancelled: Callable[[], bool] | None = None,
    ) -> Iterator[StreamEvent]:
        """Yield text deltas as the model writes, then the checked, final Answer.

        The steps: cached → retrieve → (abstain) → generate → check → finish."""
        t0 = time.perf_counter()
        request = self._request(question, collection, history)
        cached = self._from_cache(request, t0)
        if cached is not None:
            yield StreamEvent(answer=cached)
            return
        t1 = time.perf_counter()
        passages = self._retrieve(request.question, request.query, request.collection)
        timings = {"retrieval": time.perf_counter() - t1}
        run = _Run(request, passages, timings, t0)
        reason = self._select(run)
        if reason:
            yield StreamEvent(answer=self._finish(run, self._abstain(run, reason)))
            return
        if self.generator is None:
            yield StreamEvent(answer=self._degraded(run, ""))
            return
        try:
            for token in self._generate(self.generator, run):
                yield StreamEvent(token=token)
                if cancelled is not None and cancelled():
                    log.info("generation cancelled by the caller")
                    return
        except GeneratorUnavailable as exc:
            log.warning("generator failed, answering with the evidence only: %s", exc)
            yield StreamEvent(answer=self._degraded(run, str(exc)))
            return
        yield StreamEvent(answer=self._finish(run, self._check(run)))

    def _select(self, run: _Run) -> str:
        """Pick the evidence sentences of the prompt's passages (one embedding batch),
        then decide whether to decline: returns the reason to, or ''."""
        t = time.perf_counter()
        top = run.passages[: self.settings.retrieval.prompt_passages]
        run.evidence = select_evidence(run.request.question, top, self.embedder, pool=run.passages)
        run.timings["evidence"] = time.perf_counter() - t
        best = max((p.similarity for p in run.passages), default=0.0)
        if best < self.settings.retrieval.min_similarity:
            return f"No passage is relevant enough (best similarity {best:.2f})."
        return decline_reason(
            run.request.question,
            signals(best, run.evidence),
            min_confidence=self.settings.retrieval.min_confidence,
        )

    def _request(
        self, question: str, collection: str | None, history: Sequence[Turn] | None
    ) -> _Request:
        question = self._validate(question)
        name = self.collection_name(collection)
        query = retrieval_query(question, history)
        version = self.store.collection(name).published_version()
        key = None
        if self.cache is not None and version is not None:
            gen = self.generator
            key = answer_key(
                question=question, query=query, collection=self.settings.collection(name),
                index=self.settings.index_location, index_version=version,
                model=gen.model if gen else "",
                adapter=gen.adapter if gen else "", retrieval=self.settings.retrieval,
                generator=self.settings.generator,
            )  # fmt: skip
        return _Request(question, query, name, key)

    def _from_cache(self, request: _Request, t0: float) -> Answer | None:
        if self.cache is None or request.cache_key is None:
            return None
        hit = self.cache.get(request.cache_key)
        if hit is None:
            return None
        answer = Answer.from_json(hit, request.question)
        return replace(answer, cached=True, timings={"total": time.perf_counter() - t0})

    def _abstain(self, run: _Run, notice: str) -> Answer:
        naming = self._naming(run)
        if naming is None:
            closest = self._closest(run, run.passages[:3])
        else:
            # First, so that no front end trimming a decline's sources can drop it.
            closest = (naming, *self._closest(run, run.passages[:3], start=2))
            notice = f"{notice} Passage [1], ranked below the three an answer would rest on, does."
        return self._answer(run, ABSTAIN_TEXT, closest, abstained=True, notice=notice)

    def _naming(self, run: _Run) -> Citation | None:
        """For a decline over a name the closest passages lack: the best-ranked other
        retrieved passage that holds it, with its best lines. It was not enough to
        answer from (the model never reads it), but the person asking can look: the
        handbook's "can I just FLUSHALL redis?" has FLUSHALL only in the fifth."""
        missing = run.evidence.missing  # names none of the prompt's passages holds
        for p in run.passages[self.settings.retrieval.prompt_passages :] if missing else ():
            hay = f"{p.title}\n{p.heading}\n{p.text}"
            if any(contains(hay.lower(), name) for name in missing):
                ev = select_evidence(run.request.question, [p], self.embedder)
                return self._citation(1, p, ev.best())
        return None

    def _closest(
        self, run: _Run, passages: Sequence[Passage], start: int = 1
    ) -> tuple[Citation, ...]:
        """The closest passages of a decline, each with its best lines, so a person can
        still look (the evidence was chosen from these same passages, in this order),
        numbered from `start`."""
        return tuple(
            self._citation(start + i, p, run.evidence.best(passage=i))
            for i, p in enumerate(passages)
        )

    def _generate(self, gen: Generator, run: _Run) -> Iterator[str]:
        """Build the prompt from the best passages and stream the model's words."""
        t2 = time.perf_counter()
        budget = prompt_budget(gen.context_tokens, gen.max_tokens)
        prompt, run.used = build_prompt(
            run.request.question,
            run.passages[: self.settings.retrieval.prompt_passages],
            count_tokens=gen.count_tokens,
            budget_tokens=budget,
        )
        run.timings["prompt"] = time.perf_counter() - t2
        t3 = time.perf_counter()
        for token in gen.stream(prompt):
            if "first_token" not in run.timings:
                run.timings["first_token"] = time.perf_counter() - t3
            run.parts.append(token)
            yield token
        run.timings["generation"] = time.perf_counter() - t3

    def _check(self, run: _Run) -> Answer:
        """Keep only the sentences the cited passages back (see engine.verify); a model
        that found nothing abstains, and when nothing survives the answer is the
        evidence itself, never a sentence the docs don't back."""
        t = time.perf_counter()
        answer = self._checked(run)
        return replace(answer, timings={**answer.timings, "check": time.perf_counter() - t})

    def _checked(self, run: _Run) -> Answer:
        used = run.used
        raw = "".join(run.parts)
        if any(is_asciidoc(p.source) for p in used):
            raw = adoc_inline(raw)  # a remembered `linkgit:git-push[1]` is no citation
        if not raw.strip() or is_declined(raw):
            notice = "The model found no answer in the closest passages."
            return self._answer(run, MODEL_DECLINED_TEXT, self._closest(run, used),
                                abstained=True, notice=notice)  # fmt: skip
        # Small models cite wrong or not at all: verify re-cites each sentence where its
        # words are (a copied passage header proves nothing), then checks what it claims.
        texts = [model_view(p.text, p.source) for p in used]  # what the model read
        verdicts = verify(raw, texts, run.evidence, question=run.request.question,
                          headings=[f"{p.title} {p.heading}" for p in used])  # fmt: skip
        kept = [v for v in verdicts if v.ok]
        if not kept:
            return self._evidence_answer(run, UNBACKED_NOTICE)
        checked = check_citations(" ".join(v.sentence for v in kept), len(used))
        citations = []
        for new, old in enumerate(checked.used, start=1):
            claim = " ".join(v.sentence for v in kept if old in v.cited)
            ev = run.evidence.for_claim(old - 1, claim)
            citations.append(self._citation(new, used[old - 1], ev))
        more = self._more_quotes(run, citations)
        # A model reading reStructuredText copies its roles (":exc:`KeyError`"); its
        # sentence is not a quote, so it reads as rendered. Quotes stay exact.
        text = _see_also(rst_inline(checked.text), len(more), len(citations))
        dropped = len(verdicts) - len(kept)
        notice = REMOVED_NOTICE.format(n=dropped) if dropped else ""
        return self._answer(run, text, tuple(more), notice=notice)

    def _quotes(self, run: _Run) -> list[Evidence]:
        return run.evidence.top(self.settings.retrieval.quotes)

    def _evidence_answer(
        self, run: _Run, notice: str, quotes: Sequence[Evidence] | None = None, **flags: Any
    ) -> Answer:
        """The best evidence, quoted and cited: what the docs say, verbatim. The next
        best quotes follow as citations of their own (facts often sit in two places)."""
        quotes = self._quotes(run) if quotes is None else quotes
        if not quotes:
            return self._answer(run, DEGRADED_TEXT, self._sources(run.passages), notice=notice,
                                **flags)  # fmt: skip
        cites = tuple(
            self._citation(n, run.passages[e.passage], e) for n, e in enumerate(quotes, start=1)
        )
        lead, code = run.evidence.lead(quotes[0])
        lead = as_read(lead, run.passages[quotes[0].passage].source)
        text = f'{EVIDENCE_INTRO} "{lead}" [1]'
        if code and lead:  # the code's lines are shown under the answer, not folded in
            text += ", followed by the code quoted below"
        elif code:
            text = f"{EVIDENCE_INTRO} see the code quoted below [1]"
        return self._answer(run, _see_also(text, len(cites), 1), cites, notice=notice, **flags)

    def _more_quotes(self, run: _Run, citations: list[Citation]) -> list[Citation]:
        """The best `retrieval.quotes` evidence quotes that no citation of the model
        overlaps, as further citations: the model's choice of lines never hides the
        evidence a reader checks its words against."""
        quoted = [(c.source, c.quote_lines) for c in citations]
        more = list(citations)
        for e in self._quotes(run):
            p = run.passages[e.passage]
            lines = sentence_lines(p, e.sentence)
            if any(src == p.source and ql and _intersect(ql, lines) for src, ql in quoted):
                continue
            more.append(self._citation(len(more) + 1, p, e))
        return more

    def _finish(self, run: _Run, answer: Answer) -> Answer:
        key = run.request.cache_key
        if self.cache is not None and key is not None and not answer.degraded:
            self.cache.put(key, answer.to_record())
        return answer

    def _retrieve(self, question: str, query: str, collection: str) -> list[Passage]:
        """Search the question as asked; for a follow-up, also the question expanded with
        the conversation, and fuse the two rankings (RRF). The expansion alone lets the
        earlier topic outvote the new one ("and how do I roll it back?" after a deploy
        question would find deploy docs, not rollback docs)."""
        if not has_content(question):
            # About nothing ("what is the of the and?"): it will be declined, with what
            # lies nearest in meaning as the closest passages, so a person can still look.
            nearest = self.store.collection(self.collection_name(collection)).nearest(
                self.embedder.embed_query(question), k=self.settings.retrieval.k
            )
            return [self._linked(p) for p in nearest]
        own = self.search(question, collection=collection)
        if query == question:
            return own
        # The expansion joins two questions and may pass the length limit of one.
        expanded = self._search(query, collection)
        by_id = {p.id: p for p in [*expanded, *own]}
        scores = rrf_scores([[p.id for p in own], [p.id for p in expanded]], [1.0, 1.0], k=10)
        best = sorted(scores, key=lambda pid: -scores[pid])
        return [by_id[str(pid)] for pid in best[: self.settings.retrieval.k]]

    def _validate(self, question: str) -> str:
        question = question.strip()
        if not question:
            raise InvalidQuestion("The question is empty: ask something about your docs.")
        limit = self.settings.max_question_chars
        if len(question) > limit:
            raise InvalidQuestion(
                f"The question is too long ({len(question)} characters; the limit is "
                f"{limit}). Ask about one thing at a time."
            )
        return question

    def _citation(self, n: int, p: Passage, ev: Evidence | None = None) -> Citation:
        quote, lines, url = "", None, p.url
        if ev is not None:
            quote, lines = ev.sentence.text, sentence_lines(p, ev.sentence)
            url = self.citation_url(p.collection, p.source, *lines) or p.url
        return Citation(
            n=n,
            source=p.source,
            title=p.title,
            heading=p.heading,
            lines=p.lines,
            url=url,
            collection=p.collection,
            snippet=p.text[:280],
            updated_at=p.updated_at,
            quote=quote,
            quote_lines=lines,
        )

    def _degraded(self, run: _Run, reason: str) -> Answer:
        """No model (or a failing one): the evidence is still an answer a person can check,
        and the other retrieved passages follow it as sources to read."""
        notice = "The model is unavailable right now; showing what the docs say."
        if reason:
            notice = f"{notice} ({reason})"
        quotes = self._quotes(run)
        answer = self._evidence_answer(run, notice, quotes, degraded=True)
        quoted = {e.passage for e in quotes}
        if not quoted:  # the answer already lists every passage
            return answer
        rest = [p for i, p in enumerate(run.passages) if i not in quoted]
        start = len(answer.citations) + 1
        more = tuple(self._citation(n, p) for n, p in enumerate(rest, start=start))
        return replace(answer, citations=answer.citations + more)

    def _sources(self, passages: Sequence[Passage]) -> tuple[Citation, ...]:
        return tuple(self._citation(i, p) for i, p in enumerate(passages, start=1))

    def _answer(
        self, run: _Run, text: str, citations: tuple[Citation, ...], **flags: Any
    ) -> Answer:
        gen = self.generator
        return Answer(
            question=run.request.question,
            text=text,
            citations=citations,
            model=gen.model if gen else "",
            adapter=gen.adapter if gen else "",
            collection=run.request.collection,
            timings={**run.timings, "total": time.perf_counter() - run.t0},
            **flags,
        )


def _see_also(text: str, total: int, cited: int) -> str:
    """Point the text at the citations it does not cite itself (the further quotes), so
    every listed source has its marker."""
    if total <= cited:
        return text
    text = text.rstrip()
    end = "" if text[-1:] in ".!?" else "."
    return f"{text}{end} See also {', '.join(f'[{n}]' for n in range(cited + 1, total + 1))}."


def _intersect(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] <= b[1] and b[0] <= a[1]


@dataclass(frozen=True)
class _Request:
    """A validated question: what to search for, where, and its answer-cache key."""

    question: str
    query: str  # the question, expanded with the conversation for a follow-up
    collection: str
    cache_key: str | None


@dataclass
class _Run:
    """One answer in the making, handed from step to step."""

    request: _Request
    passages: list[Passage]
    timings: dict[str, float]
    t0: float
    used: list[Passage] = field(default_factory=list)  # the passages the prompt holds
    # sentences of the prompt's passages, best first (passage indices match `used`)
    evidence: EvidenceSet = field(default_factory=lambda: EvidenceSet((), 0.0, 0.0, ()))
    parts: list[str] = field(default_factory=list)  # the model's words so far
