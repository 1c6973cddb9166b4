"""Hover: a definition-style summary of the term under the cursor, with citations.

Answers from the vocabulary, then from retrieval, then from answers already generated;
it never generates, so it stays fast. Nothing relevant enough: null, not noise."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from lsprotocol import types

from engine import HEADING_SEP, USER_ERRORS
from lsp.configuration import settings_known, settings_ready
from lsp.documents import line_at, open_document, word_at
from lsp.features.code_lens import question_in
from lsp.quotes import quote_markdown
from lsp.server import TeamkbServer
from lsp.vocabulary import Entry, normalize, sentence_with

if TYPE_CHECKING:
    from engine import Passage

log = logging.getLogger(__name__)

MIN_TERM_CHARS = 3
MAX_TERM_CHARS = 200


def register(server: TeamkbServer) -> None:
    @server.feature(types.TEXT_DOCUMENT_HOVER)
    async def hover(ls: TeamkbServer, params: types.HoverParams) -> types.Hover | None:
        try:
            return await hover_at(ls, params.text_document.uri, params.position)
        except Exception:
            # A failing hover must not surface as an error popup while typing.
            log.exception("hover failed")
            return None


async def hover_at(ls: TeamkbServer, uri: str, position: types.Position) -> types.Hover | None:
    doc = open_document(ls, uri)
    if doc is None:
        return None
    found = line_at(doc, position)
    if found is None:
        return None
    # Before the engine is loaded only the vocabulary answers: wait for the client's
    # settings to be known, not for the engine to apply them.
    await (settings_ready(ls) if ls.engine_ready() is not None else settings_known(ls))
    question = question_in(found[0])
    answer = await ls.cached_answer(question) if question else None
    if answer is not None:
        # Cached answers are already trimmed; a generated text cites by number, so its
        # citations are never cut here.
        body = f"**teamkb answer**\n\n{answer.text}"
        if answer.notice:
            body += f"\n\n> {answer.notice}"
        # The exact lines behind each citation, so the answer can be checked in place.
        for c in answer.citations if answer.cites_sources else ():
            quoted = quote_markdown(c)
            if quoted:
                body += f"\n\n[{c.n}] `{c.location}`\n" + "\n".join(quoted)
        return _markdown(body, [
            (c.title or c.source,
             ls.citation_link(c.source, c.quote_lines or c.lines, c.url, c.collection))
            for c in answer.citations])  # fmt: skip
    word = word_at(doc, position)
    return await hover_for(ls, word) if word else None


HOVER_DEPTH = 10


async def hover_for(ls: TeamkbServer, term: str) -> types.Hover | None:
    term = term.strip()
    if not (MIN_TERM_CHARS <= len(term) <= MAX_TERM_CHARS):
        return None
    vocabulary = await ls.known_vocabulary()
    entry = vocabulary.lookup(term) if vocabulary is not None else None
    if entry is not None and entry.kind != "code":
        return _from_entry(ls, entry)
    engine = await ls.engine()
    try:
        passages: list[Passage] = await ls.off_loop(
            # Deeper than the links shown: near-duplicates that do not name the term can
            # fill the top few, and the filter below would then leave nothing.
            lambda: engine.search(
                term, collection=ls.config.collection, k=max(HOVER_DEPTH, ls.config.max_sources)
            )
        )
    except USER_ERRORS as exc:
        # No index yet (before the first sync): nothing to show, and no error per hover.
        log.debug("hover search for %r: %s", term, exc)
        return None
    bar = engine.settings.retrieval.min_similarity
    # Separators removed on both sides, so "rollback" matches "roll back".
    needle = normalize(term).replace("-", "")
    # Relevant means similar enough *and* naming the term: similarity alone lets common
    # words ("retry") pull in loosely related passages.
    relevant = [p for p in passages if p.similarity >= bar
                and needle in normalize(f"{p.heading} {p.text}").replace("-", "")]  # fmt: skip
    if not relevant:
        return _from_entry(ls, entry) if entry is not None else None
    best = relevant[0]
    summary = entry.summary if entry is not None else sentence_with(best.text, term, loose=True)
    links = [(_label(p.title, p.heading, p.source), ls.citation_link(p.source, p.lines, p.url,
                                                                  p.collection))
             for p in relevant[: ls.config.max_sources]]  # fmt: skip
    return _markdown(f"**{term}**: {summary}", links)


def _from_entry(ls: TeamkbServer, e: Entry) -> types.Hover:
    name = ls.config.collection
    link = ls.citation_link(e.source, e.lines, ls.source_url(name, e.source, e.lines), name)
    kind = {"term": "glossary", "service": "service", "runbook": "runbook"}.get(e.kind, "docs")
    return _markdown(
        f"**{e.label}** ({kind}): {e.summary}", [(_label("", e.heading, e.source), link)]
    )


def _label(title: str, heading: str, source: str) -> str:
    return heading.split(HEADING_SEP)[-1] if heading else (title or source)


def _markdown(body: str, links: list[tuple[str, str]]) -> types.Hover:
    cites = "\n".join(f"{i}. [{label}]({link})" for i, (label, link) in enumerate(links, 1))
    value = f"{body}\n\n---\n{cites}" if cites else body
    return types.Hover(contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=value))
