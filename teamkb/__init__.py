"""teamkb entry points: settings loading and the command line."""

__version__ = "0.1.0"
