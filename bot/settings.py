"""Typed settings of the Slack bot: the [slack] table of teamkb.toml plus tokens from env.

    [slack]
    rate_limit_per_minute = 6            # questions per user per minute
    workers = 2                          # answers generated at once (engine calls)
    history_turns = 8                    # thread messages passed to the engine
    shutdown_timeout_s = 30              # on SIGTERM, how long answers in flight may take
    default_collections = ["handbook"]   # channels without their own entry, and DMs

    [slack.channels.C0PRIVATE]
    collections = ["private"]
    answer_without_mention = true

A collection named in some channel's entry and not in `default_collections` is
searchable from that channel only: that is how a private channel's docs stay in it.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from engine import ConfigError, Settings


def _listify(value: Any) -> Any:
    # `collections = "handbook"` is accepted as a list of one.
    return [value] if isinstance(value, str) else value


CollectionName = Annotated[str, StringConstraints(strict=True, min_length=1)]
CollectionNames = Annotated[
    tuple[CollectionName, ...], BeforeValidator(_listify), Field(min_length=1)
]
PositiveInt = Annotated[int, Field(strict=True, ge=1)]

# What each kind of value must be, for the error message of a bad one.
_EXPECTED = {
    "default_collections": "must be a non-empty list of collection names",
    "collections": "must be a non-empty list of collection names",
    "rate_limit_per_minute": "must be a positive integer",
    "workers": "must be a positive integer",
    "history_turns": "must be a positive integer",
    "shutdown_timeout_s": "must be a positive integer",
    "answer_without_mention": "must be true or false",
    "channels": "must be a table of channel ids",
}


class ChannelSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    collections: CollectionNames
    answer_without_mention: bool = False


class SlackSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    home: Path
    default_collections: CollectionNames = ("handbook",)
    channels: Mapping[str, ChannelSettings] = Field(default_factory=dict)
    rate_limit_per_minute: PositiveInt = 6
    workers: PositiveInt = 2
    history_turns: PositiveInt = 8
    shutdown_timeout_s: PositiveInt = 30
    # Secrets: repr=False so that a logged settings object never shows them.
    bot_token: str = Field(default="", repr=False)
    signing_secret: str = Field(default="", repr=False)
    app_token: str = Field(default="", repr=False)
    api_url: str = ""

    @model_validator(mode="before")
    @classmethod
    def _channels_default_to_the_defaults(cls, data: Any) -> Any:
        # A channel entry without `collections` searches what unlisted channels search.
        if not isinstance(data, Mapping) or not isinstance(data.get("channels"), Mapping):
            return data
        defaults = data.get("default_collections", cls.model_fields["default_collections"].default)
        channels = {
            cid: {"collections": defaults, **raw} if isinstance(raw, Mapping) else raw
            for cid, raw in data["channels"].items()
        }
        return {**data, "channels": channels}

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
        secrets = {"home", "bot_token", "signing_secret", "app_token", "api_url"}
        # Those come from the environment, never from teamkb.toml.
        unknown = sorted(k for k in data if k in secrets)
        if unknown:
            raise ConfigError(f"Unknown setting(s) in [slack]: {', '.join(unknown)}. {_known()}")
        try:
            return cls.model_validate({
                "default_collections": [settings.default_collection],
                **data,
                "home": settings.home,
                "bot_token": env.get("SLACK_BOT_TOKEN", ""),
                "signing_secret": env.get("SLACK_SIGNING_SECRET", ""),
                "app_token": env.get("SLACK_APP_TOKEN", ""),
                "api_url": env.get("SLACK_API_URL", ""),
            })  # fmt: skip
        except ValidationError as exc:
            raise _config_error(exc) from None


def _known(table: str = "slack") -> str:
    if table == "slack":
        names = sorted(set(_EXPECTED) - {"collections", "answer_without_mention"})
    else:
        names = sorted(ChannelSettings.model_fields)
    return f"Known: {', '.join(names)}"


def _config_error(exc: ValidationError) -> ConfigError:
    """One message naming each bad key of [slack] or [slack.channels.ID]."""
    problems: list[str] = []
    unknown: dict[str, list[str]] = {}
    for err in exc.errors():
        loc = [str(part) for part in err["loc"]]
        if loc[:1] == ["channels"] and len(loc) >= 2:
            table, rest = f"slack.channels.{loc[1]}", loc[2:]
        else:
            table, rest = "slack", loc
        if err["type"] == "extra_forbidden":
            unknown.setdefault(table, []).append(rest[0])
            continue
        key = rest[0] if rest else ""
        if not key:  # the channel entry itself is not a table
            problems.append(f"[{table}] must be a table")
            continue
        expected = _EXPECTED.get(key, err["msg"])
        problems.append(f"[{table}] {key} {expected}, got {err.get('input')!r}")
    for table, keys in unknown.items():
        kind = "channel" if table != "slack" else "slack"
        problems.append(
            f"Unknown setting(s) in [{table}]: {', '.join(sorted(set(keys)))}. {_known(kind)}"
        )
    return ConfigError("; ".join(dict.fromkeys(problems)))
