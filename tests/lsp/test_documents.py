"""Safe document reads without a server: URIs, position encodings, word and prefix."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from lsprotocol import types
from pygls.workspace import Workspace

from lsp.documents import line_at, open_document, prefix_at, word_at

TEXT = "café ledger-api\nx = payments-g\n"


def _ls(encoding: types.PositionEncodingKind, text: str = TEXT) -> SimpleNamespace:
    ws = Workspace(None, position_encoding=encoding)
    ws.put_text_document(types.TextDocumentItem(
        uri="file:///tmp/my%20docs/a.py", language_id="python", version=1, text=text))  # fmt: skip
    return SimpleNamespace(workspace=ws)


def _doc(text: str) -> Any:
    return open_document(_ls(types.PositionEncodingKind.Utf16, text), "file:///tmp/my%20docs/a.py")


def test_percent_encoded_uri_is_found():
    ls = _ls(types.PositionEncodingKind.Utf16)
    assert open_document(ls, "file:///tmp/my%20docs/a.py") is not None
    assert open_document(ls, "file:///tmp/my docs/a.py") is not None
    assert open_document(ls, "file:///tmp/other.py") is None


def test_utf8_client_columns():
    doc = open_document(_ls(types.PositionEncodingKind.Utf8), "file:///tmp/my%20docs/a.py")
    line = "café ledger-api"
    # "é" is two UTF-8 units: the end of the line is column 16 for this client.
    end = len(line.encode("utf-8"))
    assert line_at(doc, types.Position(0, end)) == (line, len(line))
    assert line_at(doc, types.Position(0, end + 1)) is None
    inside = types.Position(0, end - 3)  # inside "ledger-api"
    assert line_at(doc, inside) is not None and word_at(doc, inside) == "ledger-api"


def test_utf16_client_columns():
    doc = open_document(_ls(types.PositionEncodingKind.Utf16), "file:///tmp/my%20docs/a.py")
    line = "café ledger-api"
    assert line_at(doc, types.Position(0, len(line))) == (line, len(line))
    assert line_at(doc, types.Position(0, len(line) + 1)) is None


def test_prefix_and_word():
    assert prefix_at("x = payments-g", 14) == "payments-g"
    assert prefix_at("x = .ledger", 11) == "ledger"
    assert word_at(_doc("see ledger.max_batch_size."), types.Position(0, 8)) == (
        "ledger.max_batch_size"
    )


def test_word_off_the_text_is_none():
    doc = _doc("see ledger-api\n")
    assert word_at(doc, types.Position(0, 6)) == "ledger-api"
    assert word_at(doc, types.Position(0, 15)) is None
    assert word_at(doc, types.Position(5, 0)) is None
