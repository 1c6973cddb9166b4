"""`??` questions in comments get a "teamkb: answer" lens; any selection gets a
"Ask team docs about this selection" code action. Both run the `teamkb.answer` command."""

from __future__ import annotations

import logging
import re

from lsprotocol import types

from lsp.documents import open_document, text_in
from lsp.server import CMD_ANSWER, TeamkbServer

log = logging.getLogger(__name__)

# Line-comment leaders and block-comment openers of the common languages:
# #, //, --, ;, %, ', REM, /* ... */, <!-- ... -->, {- ... -}, (* ... *), and " (Vim).
QUESTION = re.compile(
    r"""^\s*(?:\#+|//+|--|;+|%+|'|"|REM\b|/\*+|\*|<!--|\{-|\(\*)\s*\?\?\s*(?P<q>.*?)\s*
        (?:\*/|-->|-\}|\*\))?\s*$""",
    re.X | re.I,
)
MAX_LENSES = 200
ACTION_TITLE = "Ask team docs about this selection"


def question_in(line: str) -> str:
    m = QUESTION.match(line)
    return m.group("q").strip() if m else ""


def lenses_for(source_lines: list[str]) -> list[types.CodeLens]:
    out: list[types.CodeLens] = []
    for n, line in enumerate(source_lines):
        if "??" not in line:
            continue
        q = question_in(line.rstrip("\r\n"))
        if not q:
            continue
        rng = types.Range(types.Position(n, 0), types.Position(n, len(line.rstrip("\r\n"))))
        out.append(types.CodeLens(range=rng, data={"question": q, "line": n}))
        if len(out) >= MAX_LENSES:
            break
    return out


def _command(question: str, uri: str = "", line: int | None = None) -> types.Command:
    return types.Command(title="teamkb: answer", command=CMD_ANSWER,
                         arguments=[{"question": question, "uri": uri, "line": line}])  # fmt: skip


def register(server: TeamkbServer) -> None:
    @server.feature(types.TEXT_DOCUMENT_CODE_LENS,
                    types.CodeLensOptions(resolve_provider=False))  # fmt: skip
    def code_lens(ls: TeamkbServer, params: types.CodeLensParams) -> list[types.CodeLens] | None:
        doc = open_document(ls, params.text_document.uri)
        if doc is None:
            return None
        # Every lens carries its command: computing one is as cheap as resolving it.
        lenses = lenses_for(list(doc.lines))
        for lens in lenses:
            data = lens.data or {}
            lens.command = _command(data["question"], params.text_document.uri, data["line"])
        return lenses

    @server.feature(types.TEXT_DOCUMENT_CODE_ACTION)
    def code_action(
        ls: TeamkbServer, params: types.CodeActionParams
    ) -> list[types.CodeAction] | None:
        doc = open_document(ls, params.text_document.uri)
        if doc is None:
            return None
        r = params.range
        if (r.start.line, r.start.character) == (r.end.line, r.end.character):
            return None
        selected = " ".join(text_in(doc, r).split())
        if not selected:
            return None
        limit = ls.base_settings.max_question_chars
        question = question_in(selected) or selected
        return [types.CodeAction(title=ACTION_TITLE,
                                 command=types.Command(title=ACTION_TITLE, command=CMD_ANSWER,
                                 arguments=[{"question": question[:limit],
                                             "uri": params.text_document.uri,
                                             "line": r.start.line}]))]  # fmt: skip
