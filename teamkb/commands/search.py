"""`teamkb search "QUERY" [-k N] [--mode hybrid|vector|fts] [--json]`"""

from __future__ import annotations

import argparse
from typing import Any

from engine import Settings
from teamkb.render import dumps, passages_text


def register(sub: Any) -> None:
    p = sub.add_parser("search", help="search a collection (no generation)")
    p.add_argument("query")
    p.add_argument("-k", type=int, default=None, help="number of results")
    p.add_argument("--mode", choices=["hybrid", "vector", "fts"], default=None)
    p.add_argument("--collection", "-c")
    p.add_argument("--path", help="only sources under this path prefix, e.g. runbooks/")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from engine import build_engine  # heavy: LanceDB; not at parser time

    engine = build_engine(settings, with_generator=False)
    passages = engine.search(
        args.query, collection=args.collection, k=args.k, mode=args.mode, path_prefix=args.path
    )
    if args.json:
        print(dumps([p.to_json() for p in passages]))
    elif passages:
        print(passages_text(passages))
    else:
        print("No matching passages.")
    return 0
