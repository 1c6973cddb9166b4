"""The engine: retrieve, decide to abstain, prompt, generate, check citations."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from engine.cache import AnswerCache
from engine.citations import check_citations, ground
from engine.errors import ConfigError, GeneratorUnavailable, InvalidQuestion
from engine.followups import retrieval_query
from engine.ports import Generator
from engine.prompting import PROMPT_VERSION, build_prompt, is_declined, prompt_budget
from engine.settings import Settings
from engine.types import Answer, Citation, Passage, StreamEvent, Turn
from knowledge.embedding import Embedder
from knowledge.fusion import rrf_scores
from knowledge.store import Hit, KnowledgeStore, SearchMode, sql_quote
from knowledge.sync import ProgressFn, SyncReport, sync_collection

log = logging.getLogger(__name__)

ABSTAIN_TEXT = "The docs don't cover this. The closest passages are listed below."
MODEL_DECLINED_TEXT = "No answer could be written from the closest passages; they are listed below."
DEGRADED_TEXT = "The model is unavailable, so here are the most relevant passages."
UNSUPPORTED_NOTICE = (
    "No passage supports this answer: check it against the passages the model was given."
)


class Engine:
    """Small, typed API: `ask`, `ask_stream`, `search`, `sync`.

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
            self.store,
            self.embedder,
            name,
            list(paths),
            max_chars=self.settings.retrieval.chunk_chars,
            progress=progress,
        )

    def index_version(self, collection: str | None = None) -> int | None:
        return self.store.published_version(self.collection_name(collection))

    def search(
        self,
        query: str,
        *,
        collection: str | None = None,
        k: int | None = None,
        mode: SearchMode | None = None,
        path_prefix: str | None = None,
    ) -> list[Passage]:
        query = query.strip()
        if not query:
            raise InvalidQuestion("The search query is empty.")
        name = self.collection_name(collection)
        mode = mode or self.settings.retrieval.mode
        where = None
        if path_prefix:
            escaped = path_prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            where = f"source LIKE {sql_quote(escaped + '%')}"
        vector = self.embedder.embed_query(query)
        hits = self.store.search(
            name,
            text=query,
            vector=vector,
            mode=mode,
            k=k or self.settings.retrieval.k,
            where=where,
        )
        return [self._passage(h) for h in hits]

    def _passage(self, h: Hit) -> Passage:
        return Passage(
            id=h.chunk_id,
            collection=h.collection,
            source=h.source,
            title=h.title,
            heading=h.heading,
            lines=(h.line_start, h.line_end),
            text=h.text,
            score=h.score,
            similarity=h.similarity,
            updated_at=h.updated_at,
            url=self.citation_url(h.collection, h.source, h.line_start, h.line_end),
        )

    def citation_url(self, collection: str, source: str, start: int, end: int) -> str | None:
        """The link to these lines, or None when the collection has no (usable) template."""
        template = self.settings.collection(collection).url
        if not template:
            return None
        try:
            return template.format(path=source, start=start, end=end)
        except (KeyError, IndexError, ValueError):
            log.warning("bad url template for collection %s: %r", collection, template)
            return None

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

    def ask_stream(
        self,
        question: str,
        *,
        collection: str | None = None,
        history: Sequence[Turn] | None = None,
        cancelled: Callable[[], bool] | None = None,
    ) -> Iterator[StreamEvent]:
        """Yield text deltas as the model writes, then the checked, final Answer."""
        t0 = time.perf_counter()
        question = self._validate(question)
        name = self.collection_name(collection)
        query = retrieval_query(question, history)
        version = self.store.published_version(name)
        gen = self.generator
        key = None
        if self.cache is not None and version is not None:
            key = AnswerCache.key(
                " ".join(question.lower().split()), " ".join(query.lower().split()), name, version,
                gen.model if gen else "", gen.adapter if gen else "", PROMPT_VERSION,
                self.settings.retrieval.k, self.settings.retrieval.min_similarity,
            )  # fmt: skip
            hit = self.cache.get(key)
            if hit is not None:
                answer = Answer.from_json(hit, question)
                timings = {"total": time.perf_counter() - t0}
                yield StreamEvent(answer=replace(answer, cached=True, timings=timings))
                return
        t1 = time.perf_counter()
        passages = self._retrieve(question, query, name)
        timings = {"retrieval": time.perf_counter() - t1}
        best = max((p.similarity for p in passages), default=0.0)
        if best < self.settings.retrieval.min_similarity:
            answer = self._answer(
                question, name, ABSTAIN_TEXT, self._sources(passages[:3]), timings, t0,
                abstained=True,
                notice=f"No passage is relevant enough (best similarity {best:.2f}).",
            )  # fmt: skip
            self._store(key, answer)
            yield StreamEvent(answer=answer)
            return
        if gen is None:
            yield StreamEvent(answer=self._degraded(question, name, passages, "", timings, t0))
            return
        try:
            t2 = time.perf_counter()
            budget = prompt_budget(gen.context_tokens, gen.max_tokens)
            prompt, used = build_prompt(
                question,
                passages[: self.settings.retrieval.prompt_passages],
                count_tokens=gen.count_tokens,
                budget_tokens=budget,
            )
            timings["prompt"] = time.perf_counter() - t2
            t3 = time.perf_counter()
            parts: list[str] = []
            for token in gen.stream(prompt):
                if "first_token" not in timings:
                    timings["first_token"] = time.perf_counter() - t3
                parts.append(token)
                yield StreamEvent(token=token)
                if cancelled is not None and cancelled():
                    log.info("generation cancelled by the caller")
                    return
            timings["generation"] = time.perf_counter() - t3
        except GeneratorUnavailable as exc:
            log.warning("generator failed, answering with sources only: %s", exc)
            yield StreamEvent(
                answer=self._degraded(question, name, passages, str(exc), timings, t0)
            )
            return
        # Support must come from a passage's body: a copied header line proves nothing.
        grounded = ground("".join(parts), [p.text for p in used])
        checked = check_citations(grounded, len(used))
        citations = tuple(self._citation(new, used[old - 1]) for new, old in
                          enumerate(checked.used, start=1))  # fmt: skip
        if not checked.text or is_declined(checked.text):
            # The model itself found no answer in the passages: that is an abstention.
            answer = self._answer(
                question, name, MODEL_DECLINED_TEXT, self._sources(used), timings, t0,
                abstained=True, notice="The model found no answer in the closest passages.",
            )  # fmt: skip
            self._store(key, answer)
            yield StreamEvent(answer=answer)
            return
        unsupported = not citations
        if unsupported:
            # Nothing to cite, but the user still needs the passages to check it against.
            citations = self._sources(used)
        answer = self._answer(
            question, name, checked.text, citations, timings, t0,
            unsupported=unsupported, notice=UNSUPPORTED_NOTICE if unsupported else "",
        )  # fmt: skip
        self._store(key, answer)
        yield StreamEvent(answer=answer)

    def _retrieve(self, question: str, query: str, collection: str) -> list[Passage]:
        """Search the question as asked; for a follow-up, also the question expanded with
        the conversation, and fuse the two rankings (RRF). The expansion alone lets the
        earlier topic outvote the new one ("and how do I roll it back?" after a deploy
        question would find deploy docs, not rollback docs)."""
        own = self.search(question, collection=collection)
        if query == question:
            return own
        expanded = self.search(query, collection=collection)
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

    def _citation(self, n: int, p: Passage) -> Citation:
        return Citation(
            n=n,
            source=p.source,
            title=p.title,
            heading=p.heading,
            lines=p.lines,
            url=p.url,
            collection=p.collection,
            snippet=p.text[:280],
            updated_at=p.updated_at,
        )

    def _degraded(
        self,
        question: str,
        collection: str,
        passages: Sequence[Passage],
        reason: str,
        timings: dict[str, float],
        t0: float,
    ) -> Answer:
        notice = "The model is unavailable right now; showing the sources only."
        if reason:
            notice = f"{notice} ({reason})"
        return self._answer(
            question, collection, DEGRADED_TEXT, self._sources(passages), timings, t0,
            degraded=True, notice=notice,
        )  # fmt: skip

    def _sources(self, passages: Sequence[Passage]) -> tuple[Citation, ...]:
        return tuple(self._citation(i, p) for i, p in enumerate(passages, start=1))

    def _answer(
        self,
        question: str,
        collection: str,
        text: str,
        citations: tuple[Citation, ...],
        timings: dict[str, float],
        t0: float,
        **flags: Any,
    ) -> Answer:
        gen = self.generator
        return Answer(
            question=question,
            text=text,
            citations=citations,
            model=gen.model if gen else "",
            adapter=gen.adapter if gen else "",
            collection=collection,
            timings={**timings, "total": time.perf_counter() - t0},
            **flags,
        )

    def _store(self, key: str | None, answer: Answer) -> None:
        if self.cache is not None and key is not None and not answer.degraded:
            self.cache.put(key, answer.to_record())
