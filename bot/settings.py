"""Typed settings of the Slack bot: the [slack] table of teamkb.toml plus tokens from env.

    [slack]
    rate_limit_per_minute = 6            # questions per user per minute
    workers = 2                          # answers generated at once (engine calls)
    history_turns = 8                    # thread messages passed to the engine
    default_collections = ["handbook"]   # channels without their own entry, and DMs

    [slack.channels.C0PRIVATE]
    collections = ["private"]
    answer_without_mention = true

A collection named in some channel's entry and not in `default_collections` is
searchable from that channel only: that is how a private channel's docs stay in it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.errors import ConfigError
from engine.settings import Settings

_KNOWN = {
    "rate_limit_per_minute", "workers", "history_turns", "default_collections", "channels",
}  # fmt: skip


@dataclass(frozen=True)
class ChannelSettings:
    collections: tuple[str, ...]
    answer_without_mention: bool = False


@dataclass(frozen=True)
class SlackSettings:
    home: Path
    default_collections: tuple[str, ...] = ("handbook",)
    channels: Mapping[str, ChannelSettings] = field(default_factory=dict)
    rate_limit_per_minute: int = 6
    workers: int = 2
    history_turns: int = 8
    # Secrets: repr=False so that a logged settings object never shows them.
    bot_token: str = field(default="", repr=False)
    signing_secret: str = field(default="", repr=False)
    app_token: str = field(default="", repr=False)
    api_url: str = ""

    def channel(self, channel_id: str) -> ChannelSettings:
        configured = self.channels.get(channel_id)
        if configured is not None:
            return configured
        return ChannelSettings(collections=self.default_collections)

    @classmethod
    def from_settings(
        cls, settings: Settings, env: Mapping[str, str] | None = None
    ) -> SlackSettings:
        """Parse `settings.section("slack")`; tokens come from `env` (default: none)."""
        env = env or {}
        data: Mapping[str, Any] = settings.section("slack")
        unknown = set(data) - _KNOWN
        if unknown:
            raise ConfigError(
                f"Unknown setting(s) in [slack]: {', '.join(sorted(unknown))}. "
                f"Known: {', '.join(sorted(_KNOWN))}"
            )
        defaults = _names(
            data.get("default_collections", [settings.default_collection]),
            "[slack] default_collections",
        )
        channels: dict[str, ChannelSettings] = {}
        for cid, raw in (data.get("channels") or {}).items():
            if not isinstance(raw, Mapping):
                raise ConfigError(f"[slack.channels.{cid}] must be a table")
            extra = set(raw) - {"collections", "answer_without_mention"}
            if extra:
                raise ConfigError(
                    f"Unknown setting(s) in [slack.channels.{cid}]: {', '.join(sorted(extra))}. "
                    "Known: collections, answer_without_mention"
                )
            cols = _names(raw.get("collections", defaults), f"[slack.channels.{cid}] collections")
            channels[str(cid)] = ChannelSettings(
                collections=cols, answer_without_mention=bool(raw.get("answer_without_mention"))
            )
        return cls(
            home=settings.home,
            default_collections=defaults,
            channels=channels,
            rate_limit_per_minute=_positive(data, "rate_limit_per_minute", 6),
            workers=_positive(data, "workers", 2),
            history_turns=_positive(data, "history_turns", 8),
            bot_token=env.get("SLACK_BOT_TOKEN", ""),
            signing_secret=env.get("SLACK_SIGNING_SECRET", ""),
            app_token=env.get("SLACK_APP_TOKEN", ""),
            api_url=env.get("SLACK_API_URL", ""),
        )


def _names(value: Any, key: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if (
        not isinstance(value, list | tuple)
        or not value
        or not all(isinstance(v, str) and v for v in value)
    ):
        raise ConfigError(f"{key} must be a non-empty list of collection names")
    return tuple(value)


def _positive(data: Mapping[str, Any], key: str, default: int) -> int:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"[slack] {key} must be a positive integer, got {value!r}")
    return value
