"""End to end against the real server (a subprocess) on the example handbook."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pytest_lsp import LanguageClient

from tests.lsp.conftest import SAMPLE, ask, hover, open_doc

pytestmark = pytest.mark.asyncio(loop_scope="module")


def _value(h: types.Hover | None) -> str:
    assert h is not None
    assert isinstance(h.contents, types.MarkupContent)
    assert h.contents.kind == types.MarkupKind.Markdown
    return h.contents.value


async def test_hover_on_service_name_cites_the_docs(client: LanguageClient, tmp_path: Path):
    uri = open_doc(client, tmp_path / "a.py", SAMPLE)
    text = _value(await hover(client, uri, 4, SAMPLE.splitlines()[4].index("ledger-api") + 3))
    assert "ledger-api" in text
    assert "https://git.example.com/platform/handbook/blob/main/services/ledger-api.md#L" in text


async def test_hover_in_a_document_with_a_percent_encoded_uri(client, tmp_path: Path):
    uri = open_doc(client, tmp_path / "with space.py", SAMPLE)
    assert "%20" in uri
    text = _value(await hover(client, uri, 4, SAMPLE.splitlines()[4].index("ledger-api") + 3))
    assert "ledger-api" in text


async def test_hover_on_config_key(client: LanguageClient, tmp_path: Path):
    uri = open_doc(client, tmp_path / "b.py", SAMPLE)
    col = SAMPLE.splitlines()[4].index("max_batch") + 2
    text = _value(await hover(client, uri, 4, col))
    assert "ledger.max_batch_size" in text
    assert "500" in text and "journal" in text.lower()
    assert "settings-reference.md" in text


async def test_hover_on_glossary_term_in_a_selection_free_comment(client, tmp_path: Path):
    doc = "# the canary gets 5% first\n"
    uri = open_doc(client, tmp_path / "c.py", doc)
    text = _value(await hover(client, uri, 0, doc.index("canary") + 1))
    assert "glossary" in text and "traffic" in text
    assert "glossary.md" in text


async def test_question_line_without_an_answer_hovers_the_word(client, tmp_path: Path):
    doc = "# ?? who approves a canary\n"
    uri = open_doc(client, tmp_path / "q.py", doc)
    text = _value(await hover(client, uri, 0, doc.index("canary") + 1))
    assert "glossary" in text and "canary" in text.lower()


@pytest.mark.parametrize("word", ["return", "def", "xyzzyplugh"])
async def test_no_hover_when_nothing_is_relevant(client: LanguageClient, tmp_path: Path, word):
    doc = f"{word} = 1\n"
    uri = open_doc(client, tmp_path / "d.py", doc)
    assert await hover(client, uri, 0, 1) is None


async def test_bad_input_gets_null(client: LanguageClient, tmp_path: Path):
    uri = open_doc(client, tmp_path / "e.py", SAMPLE)
    assert await hover(client, uri, 999, 0) is None
    assert await hover(client, uri, 0, 5000) is None
    assert await hover(client, "file:///nowhere/unknown.py", 0, 0) is None
    binary = open_doc(client, tmp_path / "f.bin", "ledger-api\x00\x01\x02")
    assert await hover(client, binary, 0, 2) is None
    # Many short lines: only the document size, not a line's length, rules this out.
    huge = open_doc(client, tmp_path / "g.txt", "ledger-api\n" * 200_000)
    assert await hover(client, huge, 0, 2) is None
    lens = await client.text_document_code_lens_async(types.CodeLensParams(
        text_document=types.TextDocumentIdentifier(uri="file:///nowhere/x.py")))  # fmt: skip
    assert lens is None
    done = await client.text_document_completion_async(types.CompletionParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        position=types.Position(line=-1 + 10_000, character=0)))  # fmt: skip
    assert done is None


async def test_completion_offers_team_vocabulary(client: LanguageClient, tmp_path: Path):
    doc = "x = ledg\ny = payments-g\n"
    uri = open_doc(client, tmp_path / "h.py", doc)
    result = await client.text_document_completion_async(types.CompletionParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        position=types.Position(line=0, character=len("x = ledg"))))  # fmt: skip
    assert isinstance(result, types.CompletionList)
    labels = {i.label for i in result.items}
    assert {"ledger-api", "ledger.max_batch_size"} <= labels
    item = next(i for i in result.items if i.label == "ledger-api")
    assert isinstance(item.documentation, types.MarkupContent)
    assert "services/ledger-api.md" in item.documentation.value
    assert item.detail and "service" in item.detail
    result = await client.text_document_completion_async(types.CompletionParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        position=types.Position(line=1, character=len("y = payments-g"))))  # fmt: skip
    assert isinstance(result, types.CompletionList)
    item = next(i for i in result.items if i.label == "payments-gateway")
    # Accepting it replaces the whole typed prefix "payments-g", not just "g".
    assert item.filter_text == "payments-gateway"
    assert isinstance(item.text_edit, types.TextEdit)
    assert item.text_edit.new_text == "payments-gateway"
    assert item.text_edit.range == types.Range(
        types.Position(1, len("y = ")), types.Position(1, len("y = payments-g"))
    )


async def test_code_lens_on_question_comments(client: LanguageClient, tmp_path: Path):
    doc = (
        "# ?? how do we rotate the db password\n"
        "x = 1  # ?? not at line start: no lens\n"
        "// ?? what is a canary\n"
        "-- ?? who owns ledger-api\n"
        "/* ?? what is the error budget */\n"
        "# just a comment\n"
    )
    uri = open_doc(client, tmp_path / "i.py", doc)
    lenses = await client.text_document_code_lens_async(types.CodeLensParams(
        text_document=types.TextDocumentIdentifier(uri=uri)))  # fmt: skip
    assert lenses is not None
    assert [lens.range.start.line for lens in lenses] == [0, 2, 3, 4]
    first = lenses[0]
    assert first.command is not None and first.command.title == "teamkb: answer"
    assert first.command.command == "teamkb.answer"
    assert first.command.arguments[0]["question"] == "how do we rotate the db password"
    assert lenses[3].command.arguments[0]["question"] == "what is the error budget"
    assert all(lens.command is not None for lens in lenses)  # nothing left to resolve


async def test_code_action_on_a_selection(client: LanguageClient, tmp_path: Path):
    uri = open_doc(client, tmp_path / "j.py", SAMPLE)
    rng = types.Range(types.Position(1, 5), types.Position(1, 37))
    actions = await client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), range=rng,
        context=types.CodeActionContext(diagnostics=[])))  # fmt: skip
    assert actions and actions[0].title == "Ask team docs about this selection"
    command = actions[0].command
    # lsprotocol's client-side union structuring reads a CodeAction as a Command and
    # stringifies the nested command; the wire JSON is a proper CodeAction.
    nested = ast.literal_eval(command) if isinstance(command, str) else command.__dict__
    assert nested["command"] == "teamkb.answer"
    assert nested["arguments"][0]["question"] == "how do we rotate the db password"
    empty = types.Range(types.Position(1, 5), types.Position(1, 5))
    none = await client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), range=empty,
        context=types.CodeActionContext(diagnostics=[])))  # fmt: skip
    assert none is None


async def test_answer_command_shows_a_cited_answer(client: LanguageClient, tmp_path: Path):
    question = "how do we rotate the db password"
    result = await client.workspace_execute_command_async(types.ExecuteCommandParams(
        command="teamkb.answer", arguments=[{"question": question}]))  # fmt: skip
    assert result["citations"] and "[1]" in result["answer"]
    assert not result["degraded"] and not result["abstained"]
    shown = client.shown_documents[-1]
    assert shown.uri == result["uri"] and shown.uri.endswith(".md")
    md = Path(shown.uri.removeprefix("file://")).read_text(encoding="utf-8")
    assert md.startswith(f"# {question}") and "## Sources" in md
    assert "https://git.example.com/" in md
    # Each citation shows the exact lines that back the answer (issue 11).
    quote = result["citations"][0]["quote"]
    assert quote and f"   > {quote.splitlines()[0].rstrip()}" in md
    # The lens line now hovers with the cached answer (no generation on hover).
    uri = open_doc(client, tmp_path / "k.py", f"# ?? {question}\n")
    text = _value(await hover(client, uri, 0, 4))
    assert result["answer"] in text and f"> {quote.splitlines()[0].rstrip()}" in text


async def test_custom_ask_request(client: LanguageClient):
    result = await ask(client, "What is the default ledger.max_batch_size?")
    assert set(result) >= {"answer", "citations", "abstained", "degraded", "collection"}
    assert result["collection"] == "handbook" and result["citations"]
    assert result["citations"][0]["url"].startswith("https://git.example.com/")
    with pytest.raises(JsonRpcException, match="empty"):
        await ask(client, "   ")
    with pytest.raises(JsonRpcException, match="too long"):
        await ask(client, "why " * 2000)
    with pytest.raises(JsonRpcException, match="question"):
        await client.protocol.send_request_async("teamkb/ask", {"collection": 3})


async def test_unknown_command_and_bad_arguments_are_clear_errors(client: LanguageClient):
    with pytest.raises(JsonRpcException, match="not defined"):
        await client.workspace_execute_command_async(
            types.ExecuteCommandParams(command="teamkb.nope", arguments=[]))  # fmt: skip
    with pytest.raises(JsonRpcException, match="needs a question"):
        await client.workspace_execute_command_async(
            types.ExecuteCommandParams(command="teamkb.answer", arguments=[]))  # fmt: skip
    with pytest.raises(JsonRpcException):
        await client.protocol.send_request_async("teamkb/unknown", {})
    # ... and the server keeps serving.
    assert (await ask(client, "what is a canary"))["citations"]


async def test_sync_command_reports_progress(client: LanguageClient):
    result = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="teamkb.sync", arguments=[]))  # fmt: skip
    assert result["unchanged"] > 10 and result["added"] == 0 and result["vocabulary"] > 100
    reports = [r for rs in client.progress_reports.values() for r in rs]
    kinds = [type(r).__name__ for r in reports]
    assert kinds[0] == "WorkDoneProgressBegin" and kinds[-1] == "WorkDoneProgressEnd"
    assert "WorkDoneProgressReport" in kinds


async def test_logs_reach_the_client_log(client: LanguageClient):
    assert any("engine ready" in m.message or "vocabulary" in m.message
               for m in client.log_messages)  # fmt: skip
