"""Bolt listeners. Each module has `register(app, ctx)`; every listener acknowledges
first and hands slow work (the engine, Web API calls) to `ctx.submit`."""
