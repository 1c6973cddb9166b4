"""Completion of team vocabulary from memory only (no disk, no embedder)."""

from __future__ import annotations

import logging

from lsprotocol import types

from lsp.documents import line_at, open_document, prefix_at
from lsp.server import TeamkbServer
from lsp.vocabulary import Entry

log = logging.getLogger(__name__)

MAX_ITEMS = 50
KIND = {
    "term": types.CompletionItemKind.Keyword,
    "service": types.CompletionItemKind.Module,
    "runbook": types.CompletionItemKind.File,
    "heading": types.CompletionItemKind.Reference,
    "code": types.CompletionItemKind.Property,
}


def register(server: TeamkbServer) -> None:
    @server.feature(types.TEXT_DOCUMENT_COMPLETION,
                    types.CompletionOptions(trigger_characters=[".", "-", "_"]))  # fmt: skip
    def completion(ls: TeamkbServer, params: types.CompletionParams) -> types.CompletionList | None:
        doc = open_document(ls, params.text_document.uri)
        if doc is None:
            return None
        found = line_at(doc, params.position)
        if found is None:
            return None
        prefix = prefix_at(*found)
        # The edit replaces the whole typed prefix (payments-g), not just what the client
        # counts as the last word (g).
        cursor = params.position
        start = cursor.character - doc.position_codec.client_num_units(prefix)
        rng = types.Range(types.Position(cursor.line, start), cursor)
        return complete(ls, prefix, rng)


def complete(ls: TeamkbServer, prefix: str, rng: types.Range) -> types.CompletionList:
    if len(prefix) < 2:
        # One letter matches thousands of entries on a big index; wait for a second.
        return types.CompletionList(is_incomplete=True, items=[])
    entries = ls.vocabulary.complete(prefix, limit=MAX_ITEMS)
    items = [_item(e, i, rng) for i, e in enumerate(entries)]
    return types.CompletionList(is_incomplete=len(entries) >= MAX_ITEMS, items=items)


def _item(e: Entry, rank: int, rng: types.Range) -> types.CompletionItem:
    where = f"{e.source}:{e.lines[0]}"
    doc = f"{e.summary}\n\n*Source:* `{where}`" + (f" — {e.heading}" if e.heading else "")
    return types.CompletionItem(
        label=e.label,
        kind=KIND.get(e.kind, types.CompletionItemKind.Text),
        detail=f"teamkb {e.kind} · {where}",
        documentation=types.MarkupContent(kind=types.MarkupKind.Markdown, value=doc),
        sort_text=f"{rank:04d}",
        filter_text=e.label,
        text_edit=types.TextEdit(range=rng, new_text=e.label),
    )
