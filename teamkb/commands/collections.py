"""`teamkb collections [list | show NAME | drop NAME [--yes]] [--json]`"""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from engine import Settings
from teamkb.render import dumps

if TYPE_CHECKING:
    from engine import CollectionInfo


def register(sub: Any) -> None:
    p = sub.add_parser("collections", help="list, inspect or drop collections")
    p.add_argument("--json", action="store_true", help="print JSON")
    acts = p.add_subparsers(dest="action", metavar="ACTION")
    listing = acts.add_parser("list", help="every collection, with rows and versions (default)")
    show = acts.add_parser("show", help="one collection: rows, versions, embedding model")
    show.add_argument("name")
    drop = acts.add_parser("drop", help="delete a collection and all its versions")
    drop.add_argument("name")
    drop.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    for q in (listing, show, drop):  # `--json` reads naturally after the action too
        q.add_argument("--json", action="store_true", default=argparse.SUPPRESS)
    p.set_defaults(func=run, action="list")


def run(args: argparse.Namespace, settings: Settings) -> int:
    from engine import build_engine  # heavy: LanceDB; not at parser time

    engine = build_engine(settings, with_generator=False)
    if args.action == "show":
        info = engine.collection_info(args.name)
        print(dumps(asdict(info)) if args.json else _details(info))
        return 0
    if args.action == "drop":
        return _drop(engine, args)
    infos = engine.collections()
    if args.json:
        print(dumps([asdict(i) for i in infos]))
    elif not infos:
        print("No collections yet. Build one with: teamkb index PATH --collection NAME")
    else:
        print(f"{'COLLECTION':<24} {'ROWS':>8} {'VERSIONS':>8}  PUBLISHED  MODEL")
        for i in infos:
            published = "-" if i.published_version is None else str(i.published_version)
            print(f"{i.name:<24} {i.rows:>8} {i.versions:>8}  {published:>9}  {i.model or '?'}")
    return 0


def _details(i: CollectionInfo) -> str:
    published = (
        "never (no run has finished)" if i.published_version is None else i.published_version
    )
    lines = [
        f"collection:         {i.name}",
        f"rows (published):   {i.rows}",
        f"published version:  {published}",
        f"latest version:     {i.latest_version} ({i.latest_rows} rows)",
        f"versions on disk:   {i.versions}",
        f"embedding model:    {i.model or 'not recorded (an index from an older teamkb)'} "
        f"({i.dim} dimensions)",
    ]
    if i.published_version is not None and i.latest_version != i.published_version:
        lines.append("note: an index run did not finish; the next run resumes and publishes")
    return "\n".join(lines)


def _drop(engine: Any, args: argparse.Namespace) -> int:
    info = engine.collection_info(args.name)  # an unknown name fails here, clearly
    if not args.yes:
        if not sys.stdin.isatty():
            print(
                f"teamkb: not dropping '{info.name}' without confirmation; pass --yes.",
                file=sys.stderr,
            )
            return 1
        reply = input(f"Drop collection '{info.name}' ({info.rows} rows, all versions)? [y/N] ")
        if reply.strip().lower() not in {"y", "yes"}:
            print("Nothing dropped.")
            return 1
    engine.drop_collection(info.name)
    if args.json:
        print(dumps({"dropped": info.name, "rows": info.rows}))
    else:
        print(f"Dropped collection '{info.name}' ({info.rows} rows).")
    return 0
