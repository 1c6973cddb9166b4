"""Concrete generators behind the `engine.ports.Generator` protocol."""
