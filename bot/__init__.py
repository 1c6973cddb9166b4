"""teamkb's Slack front end: `create_app(engine, settings)` builds the Bolt app that
`teamkb serve slack` runs over HTTP or Socket Mode (see docs/slack.md)."""
