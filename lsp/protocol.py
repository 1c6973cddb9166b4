"""`TeamkbProtocol`: pygls' language-server protocol with JSON-RPC's own answers to bad
input. pygls parses and types a message in one step and, when that fails, only pops up
`window/showMessage`: a request with bad params then never gets a response and the
client waits forever. Here every frame is parsed, checked and typed in turn, and each
failure gets the error object the JSON-RPC 2.0 spec asks for."""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import unquote

from lsprotocol import types
from pygls.protocol import LanguageServerProtocol
from pygls.protocol.language_server import lsp_method

log = logging.getLogger(__name__)

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
INVALID_PARAMS = -32602


def _valid_id(value: Any) -> bool:
    # bool is an int subclass, and not an id.
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))


def _is_message(data: Any) -> bool:
    """A request, notification or response by JSON-RPC 2.0's rules (no batches: LSP
    has none)."""
    if not isinstance(data, dict) or data.get("jsonrpc") != "2.0":
        return False
    if "method" in data:
        return isinstance(data["method"], str) and ("id" not in data or _valid_id(data["id"]))
    return "id" in data and ("result" in data or "error" in data)


class TeamkbProtocol(LanguageServerProtocol):
    def handle_frame(self, body: bytes) -> None:
        """One frame's body, as read off the transport."""
        try:
            data = json.loads(body)
        except ValueError as exc:  # UnicodeDecodeError is a ValueError too
            log.warning("unparseable message, answered %d: %s", PARSE_ERROR, exc)
            self.send_error(None, PARSE_ERROR, f"Parse error: {exc}")
            return
        if not _is_message(data):
            msg_id = data.get("id") if isinstance(data, dict) else None
            msg_id = msg_id if _valid_id(msg_id) else None
            log.warning("not a JSON-RPC 2.0 message, answered %d: %.200s", INVALID_REQUEST,
                        body.decode("utf-8", "replace"))  # fmt: skip
            self.send_error(msg_id, INVALID_REQUEST, "Invalid Request")
            return
        try:
            message = self.structure_message(data)
        except Exception as exc:
            self._untyped(data, exc)
            return
        self.handle_message(message)

    def _untyped(self, data: dict[str, Any], exc: Exception) -> None:
        """A well-formed message whose params do not fit its method's types."""
        method = data.get("method")
        if method is not None and "id" in data:
            log.warning("invalid params for %s, answered %d: %s", method, INVALID_PARAMS, exc)
            self.send_error(data["id"], INVALID_PARAMS, f"Invalid params for {method}")
        else:
            # Notifications and responses get no answer: log and drop.
            log.warning("dropped malformed %s: %s", method or "response", exc)

    def send_error(self, msg_id: str | int | None, code: int, message: str) -> None:
        # A plain dict: lsprotocol's converter leaves out a null id, which the spec
        # requires when the request's id could not be read.
        self._send_data(
            {"jsonrpc": "2.0", "id": msg_id, "error": {"code": code, "message": message}}
        )

    @lsp_method(types.TEXT_DOCUMENT_DID_CHANGE)
    def lsp_text_document__did_change(self, params: types.DidChangeTextDocumentParams) -> Any:
        """pygls' update, unless the client changes a document it never opened (or sends
        a change that does not apply): that is the client's bug, logged, not a popup."""
        uri = params.text_document.uri
        if unquote(uri) not in self.workspace.text_documents:
            log.warning("didChange for a document that is not open, ignored: %s", uri)
            return
        try:
            for change in params.content_changes:
                self.workspace.update_text_document(params.text_document, change)
        except Exception as exc:
            log.warning("didChange for %s not applied: %s", uri, exc)
            return
        if (user_handler := self.fm.features.get(types.TEXT_DOCUMENT_DID_CHANGE)) is not None:
            yield user_handler, (params,), None
