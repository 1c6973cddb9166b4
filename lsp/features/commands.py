"""Commands (`teamkb.answer`, `teamkb.sync`) and the `teamkb/ask` request."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams, JsonRpcRequestCancelled

from engine import HEADING_SEP, USER_ERRORS
from lsp.quotes import quote_markdown
from lsp.server import ASK_METHOD, CMD_ANSWER, CMD_SYNC, AskCancelled, TeamkbServer, slug

if TYPE_CHECKING:
    from engine import Answer

log = logging.getLogger(__name__)

SYNC_TITLE = "teamkb: indexing docs"


def register(server: TeamkbServer) -> None:
    server.command(CMD_ANSWER)(answer_command)
    server.feature(ASK_METHOD)(ask_request)
    server.command(CMD_SYNC)(sync_command)


async def answer_command(ls: TeamkbServer, *args: Any) -> dict[str, Any]:
    """`teamkb.answer`: generate, write the answer as Markdown, show it, return it."""
    arg = args[0] if args else None
    question = arg.get("question") if isinstance(arg, Mapping) else arg
    if not isinstance(question, str) or not question.strip():
        raise JsonRpcInvalidParams('teamkb.answer needs a question: [{"question": "..."}]')
    answer = await _ask(ls, question, None)
    path = await ls.off_loop(write_answer_file, ls, answer)
    uri = path.resolve().as_uri()
    await _show(ls, uri)
    return {**answer.to_json(), "uri": uri}


async def _show(ls: TeamkbServer, uri: str) -> None:
    caps = ls.client_capabilities.window
    if caps is None or caps.show_document is None or not caps.show_document.support:
        return
    try:
        await asyncio.wait_for(ls.window_show_document_async(
            types.ShowDocumentParams(uri=uri, take_focus=True)), 5)  # fmt: skip
    except Exception as exc:  # the answer is still returned
        log.warning("window/showDocument failed: %s", exc)


async def ask_request(ls: TeamkbServer, params: Any) -> dict[str, Any]:
    """`teamkb/ask` {question, collection?}: the engine's Answer JSON."""
    question = _field(params, "question")
    collection = _field(params, "collection")
    if not isinstance(question, str):
        raise JsonRpcInvalidParams('teamkb/ask needs {"question": string, "collection"?: string}')
    if collection is not None and not isinstance(collection, str):
        raise JsonRpcInvalidParams("teamkb/ask: collection must be a string")
    answer = await _ask(ls, question, collection)
    return answer.to_json()


async def sync_command(ls: TeamkbServer, *args: Any) -> dict[str, Any]:
    """`teamkb.sync`: re-index the docs folders off the loop, reporting `$/progress`."""
    engine = await ls.engine()
    # No client override: Engine.sync uses the collection's configured paths (and
    # raises a ConfigError, made a clear message below, when there are none).
    folders = [ls.resolve_folder(f) for f in ls.config.docs_folders]
    token = await _begin_progress(ls, SYNC_TITLE)
    report = _progress_reporter(ls, token)

    def work() -> Any:
        result = engine.sync(folders or None, collection=ls.config.collection, progress=report)
        ls._refresh_vocabulary(engine)
        return result

    try:
        result = await ls.off_loop(work)
    except USER_ERRORS as exc:
        raise JsonRpcInvalidParams(str(exc)) from exc
    else:
        ls.index_changed()
    finally:
        if token:
            ls.work_done_progress.end(token, types.WorkDoneProgressEnd(message="done"))
    return {
        "collection": ls.config.collection,
        "added": result.added, "updated": result.updated, "removed": result.removed,
        "unchanged": result.unchanged, "skipped": [str(s) for s in result.skipped],
        "chunks": result.chunks, "vocabulary": len(ls.vocabulary),
    }  # fmt: skip


async def _begin_progress(ls: TeamkbServer, title: str) -> str:
    """A started work-done progress, or "" when the client takes none."""
    token = str(uuid.uuid4())
    progress = ls.work_done_progress
    try:
        await asyncio.wait_for(progress.create_async(token), 5)
        progress.begin(token, types.WorkDoneProgressBegin(
            title=title, percentage=0, cancellable=False))  # fmt: skip
    except Exception as exc:
        log.info("no progress reporting: %s", exc)
        return ""
    return token


def _progress_reporter(ls: TeamkbServer, token: str) -> Callable[[int, int], None]:
    """A `progress(done, total)` callback for a worker thread: it reports on the loop."""
    loop = asyncio.get_running_loop()

    def report(done: int, total: int) -> None:
        if token:
            pct = int(100 * done / total) if total else 100
            value = types.WorkDoneProgressReport(message=f"{done}/{total} files", percentage=pct)
            loop.call_soon_threadsafe(ls.work_done_progress.report, token, value)

    return report


async def _ask(ls: TeamkbServer, question: str, collection: str | None) -> Answer:
    try:
        return await ls.ask(question, collection)
    except USER_ERRORS as exc:
        # Clear, actionable message instead of an internal error.
        raise JsonRpcInvalidParams(str(exc)) from exc
    except AskCancelled as exc:
        raise JsonRpcRequestCancelled("cancelled") from exc


def _field(params: Any, name: str) -> Any:
    if isinstance(params, Mapping):
        return params.get(name)
    return getattr(params, name, None)


def write_answer_file(ls: TeamkbServer, answer: Answer) -> Path:
    folder = ls.answers_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{slug(answer.question)}.md"
    lines = [f"# {answer.question}", "", answer.text, ""]
    if answer.notice:
        lines += [f"> {answer.notice}", ""]
    if answer.citations:
        lines += [f"## {answer.citations_label}", ""]
        for c in answer.citations:
            link = ls.citation_link(c.source, c.quote_lines or c.lines, c.url, c.collection)
            label = f"{c.title}{HEADING_SEP}{c.heading}" if c.heading else (c.title or c.source)
            lines.append(f"{c.n}. [{label}]({link}) — `{c.location}`")
            quoted = quote_markdown(c)
            if quoted:  # the exact lines that back the answer, under their source
                lines += ["", *(f"   {q}" for q in quoted), ""]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
