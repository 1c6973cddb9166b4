"""`teamkb ask "QUESTION" [--collection NAME] [--json] [--stream]`"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from typing import Any

from engine import Settings
from teamkb.render import answer_text, dumps


def register(sub: Any) -> None:
    p = sub.add_parser("ask", help="answer a question from the docs, with citations")
    p.add_argument("question")
    p.add_argument("--collection", "-c")
    p.add_argument("--json", action="store_true", help="print the answer as JSON")
    p.add_argument("--stream", action="store_true", help="print the answer as it is written")
    p.add_argument("--no-cache", action="store_true", help="do not use the answer cache")
    p.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from engine import build_engine  # heavy: LanceDB; not at parser time

    if args.no_cache:
        settings = dataclasses.replace(settings, answer_cache=False)
    engine = build_engine(settings)
    if args.stream and not args.json:
        answer = None
        for event in engine.ask_stream(args.question, collection=args.collection):
            if event.token:
                sys.stdout.write(event.token)
                sys.stdout.flush()
            if event.answer is not None:
                answer = event.answer
        assert answer is not None
        # The checked answer may differ from the raw stream (citations fixed): show it.
        print("\n\n" + answer_text(answer))
        return 0
    answer = engine.ask(args.question, collection=args.collection)
    print(dumps(answer.to_json()) if args.json else answer_text(answer))
    return 0
