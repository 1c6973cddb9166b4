"""Refuse what is not a signed, well-formed Slack request before Bolt parses it.

Bolt parses the body before it checks the signature, and trusts the parsed shape: a
timestamp header that is not a number, a body that is not JSON, a JSON array, an
`"event": null` or an interaction without `user` each raised inside Bolt (a 500 with a
traceback, or a listener that never acks and times out after 3 s). The guard runs
Bolt's own signature check (slack_sdk's `SignatureVerifier`) and Bolt's own body parser
(`parse_body`) first, inside a try, and checks the few fields Bolt indexes blindly.
Bolt still verifies the signature again; the guard only makes the refusal cheap and safe.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from slack_bolt.request.internals import parse_body
from slack_sdk.signature import SignatureVerifier

# Interaction payload types whose listeners read body["user"]["id"].
_NEEDS_USER = {
    "block_actions", "view_submission", "view_closed", "shortcut", "message_action",
    "block_suggestion", "interactive_message", "dialog_submission",
}  # fmt: skip


@dataclass(frozen=True)
class Refusal:
    status: int  # 401: not from Slack; 400: from someone with the secret, but malformed
    reason: str  # for the log line; never echoes the body


def _unsigned(reason: str) -> Refusal:
    return Refusal(401, reason)


def _malformed(reason: str) -> Refusal:
    return Refusal(400, reason)


class RequestGuard:
    def __init__(self, signing_secret: str) -> None:
        self.verifier = SignatureVerifier(signing_secret)

    def check(self, body: bytes, headers: Mapping[str, str]) -> Refusal | None:
        """None if Bolt may have the request; `headers` keys are lower case."""
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            return _malformed("body is not UTF-8 text")
        if is_ssl_check(text):
            return None  # Bolt answers these itself, before its signature check, and does nothing
        timestamp = headers.get("x-slack-request-timestamp", "").strip()
        signature = headers.get("x-slack-signature", "")
        if not timestamp.isascii() or not timestamp.isdigit():
            return _unsigned("missing or non-numeric X-Slack-Request-Timestamp")
        if not signature or not self.verifier.is_valid(text, timestamp, signature):
            return _unsigned("invalid or expired signature")
        try:
            payload = parse_slack_body(text, headers.get("content-type"))
        except ValueError as exc:  # json.JSONDecodeError is a ValueError
            return _malformed(f"body does not parse ({type(exc).__name__})")
        return shape_problem(payload)


def parse_slack_body(text: str, content_type: str | None) -> Any:
    """Bolt's `parse_body`, except that a form stays a form when only its text mentions
    "payload": Bolt looks for the word anywhere in the body, takes the form for an
    interaction and returns {}, so `/kb what is the payload format?` went unanswered."""
    body = parse_body(text, content_type)
    if body == {} and text and content_type != "application/json" and not text.startswith("{"):
        params = dict(parse_qsl(text, keep_blank_values=True))
        if "payload" not in params:
            return params
    return body


def is_ssl_check(text: str) -> bool:
    """Slack's certificate check when a request URL is saved: `ssl_check=1&token=…`."""
    params = dict(parse_qsl(text, keep_blank_values=True))
    return params.get("ssl_check") == "1" and "payload" not in params


def shape_problem(payload: Any) -> Refusal | None:
    """The fields Bolt or our listeners index without checking, checked."""
    if not isinstance(payload, dict):
        return _malformed(f"body is a JSON {type(payload).__name__}, not an object")
    if "event" in payload or payload.get("type") == "event_callback":
        event = payload.get("event")
        if not isinstance(event, dict) or not isinstance(event.get("type", ""), str):
            return _malformed("event is not an object")
    kind = payload.get("type")
    if kind in _NEEDS_USER:
        user = payload.get("user")
        if not isinstance(user, dict) or not isinstance(user.get("id"), str):
            return _malformed(f"{kind} without a user")
    if kind == "block_actions":
        actions = payload.get("actions")
        if not isinstance(actions, list) or not all(isinstance(a, dict) for a in actions):
            return _malformed("block_actions without a list of actions")
    if kind in {"view_submission", "view_closed"} and not isinstance(payload.get("view"), dict):
        return _malformed(f"{kind} without a view")
    return None
