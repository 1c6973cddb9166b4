"""`teamkb` command line: thin; parses, loads settings, calls the library, renders.

Exit codes: 0 success, 1 failure (a message says why), 2 usage error, 3 `--strict`
indexing that skipped files, 130 interrupted.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from teamkb.commands import ask, collections, evaluate, index, retrain, search, serve

EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_SKIPPED, EXIT_INTERRUPTED = 0, 1, 2, 3, 130

# Each module has `register(subparsers)`, which sets `func(args, settings) -> int`, and
# imports what its command needs (models, torch, front ends) only inside that function,
# so building the parser stays cheap. The order is the order `--help` lists them in.
COMMANDS = (index, collections, search, ask, evaluate, serve, retrain)  # retrain: retrain, adapter


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="teamkb", description="Cited answers from your team's own docs."
    )
    parser.add_argument("--config", type=Path, help="teamkb.toml to use (default: search cwd)")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in COMMANDS:
        command.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    # Nothing may reach a model hub at run time: every model ships in a package.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    # before torch loads: see finetune/__init__.py (spinning OpenMP threads on a shared host)
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(
        level=level, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s"
    )
    for noisy in ("httpx", "sentence_transformers", "urllib3", "filelock"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))

    from engine import USER_ERRORS
    from teamkb.config import load_settings

    try:
        settings = load_settings(args.config)
        return int(args.func(args, settings) or 0)
    except USER_ERRORS as exc:
        print(f"teamkb: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        print("teamkb: interrupted; the last published index is untouched.", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
