"""Keep Slack's bearer values out of every log line.

A slash command's `response_url` can post into the channel for 30 minutes, `trigger_id`
opens a modal as the user, and `token` is Slack's legacy verification token. Bolt logs
the whole body of a request it rejects (at INFO) and slack_sdk logs every URL it posts to
(at DEBUG), so these values would reach the logs at `-v`. `RedactFilter` rewrites each
record's message before any handler formats it; `install_redaction` puts it on the
root handlers (what `teamkb -v` prints) and on the Slack and bot loggers (what reaches
any other handler, pytest's caplog included).
"""

from __future__ import annotations

import logging
import re

MASK = "[redacted]"
_KEYS = r"token|response_url|trigger_id"
_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    # JSON / Python reprs: "token": "…", 'trigger_id': '…'
    (re.compile(rf"""(["']({_KEYS})["']\s*:\s*)(["'])(?:\\.|(?!\3).)*\3"""), rf"\1\3{MASK}\3"),
    # Form bodies and key=value / key: value text: token=…&, response_url: …
    (re.compile(rf"(\b({_KEYS})\s*[=:]\s*)[^&\s,;)}}\]'\"]+"), rf"\1{MASK}"),
    # A form-encoded JSON `payload=`: %22token%22%3A%22…%22
    (re.compile(rf"(%22({_KEYS})%22%3A(?:%20)*%22).*?(%22)", re.I), rf"\1{MASK}\3"),
    # slack_sdk's webhook client names the response_url as "url: …" or "request: POST …".
    (re.compile(r"(\b(?:url|request):\s*(?:[A-Z]+\s+)?)https?://\S+?(?=,|\s|$)"), rf"\1{MASK}"),
    # Any Slack webhook URL or token that slipped through in free text.
    (re.compile(r"(https://hooks\.slack\.com/)\S+"), rf"\1{MASK}"),
    (re.compile(r"\bxox[a-z]-[A-Za-z0-9-]+|\bxapp-[A-Za-z0-9-]+"), MASK),
)
# Loggers whose records may carry request bodies or response URLs.
LOGGERS = ("bot", "slack_bolt", "slack_sdk", "slack", "urllib3", "waitress")


def redact(text: str) -> str:
    for pattern, replacement in _RULES:
        text = pattern.sub(replacement, text)
    return text


class RedactFilter(logging.Filter):
    """Redacts the formatted message (and a traceback's text) of every record it sees."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


_FILTER = RedactFilter()


def _add(target: logging.Logger | logging.Handler) -> None:
    if not any(isinstance(f, RedactFilter) for f in target.filters):
        target.addFilter(_FILTER)


def install_redaction() -> None:
    """Idempotent. Logger filters only see records logged on that very logger, so every
    existing logger under LOGGERS gets one, and every root handler too."""
    for handler in logging.getLogger().handlers:
        _add(handler)
    names = list(logging.root.manager.loggerDict)
    for name in names:
        if name.split(".", 1)[0].split(":", 1)[0] in LOGGERS:
            _add(logging.getLogger(name))
    for name in LOGGERS:
        _add(logging.getLogger(name))
