"""Bolt listeners, one module per kind (commands, events, actions), each a set of named
module functions wired by its `register(app)`. Every listener acknowledges first and
hands slow work (the engine, Web API calls) to the BotContext's pool; it gets that
context from Bolt's `context` (`bot.injection`)."""

from __future__ import annotations

from slack_bolt import App

from bot.listeners import actions, commands, events


def register_listeners(app: App) -> None:
    commands.register(app)
    events.register(app)
    actions.register(app)
