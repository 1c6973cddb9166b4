"""`teamkb index PATH... [--collection NAME]`"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from engine import Settings
from teamkb.render import dumps


def register(sub: Any) -> None:
    p = sub.add_parser("index", help="index docs folders into a collection")
    p.add_argument("paths", nargs="*", type=Path, help="files or folders (default: configured)")
    p.add_argument("--collection", "-c", help="collection name (default from settings)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--strict", action="store_true", help="exit 3 if any file was skipped")
    p.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from tqdm import tqdm

    from engine import build_engine  # heavy: LanceDB; not at parser time

    engine = build_engine(settings, with_generator=False)
    bar: Any = None

    def progress(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=total, unit="file", disable=not sys.stderr.isatty() or total < 20)
        bar.update(done - bar.n)

    try:
        report = engine.sync(args.paths or None, collection=args.collection, progress=progress)
    finally:
        if bar is not None:
            bar.close()
    if args.json:
        print(
            dumps(
                {
                    "collection": report.collection, "files": report.files,
                    "added": report.added, "updated": report.updated,
                    "removed": report.removed, "unchanged": report.unchanged,
                    "skipped": [{"path": s.path, "reason": s.reason} for s in report.skipped],
                    "left_out": [{"path": s.path, "reason": s.reason} for s in report.left_out],
                    "not_read": dict(report.not_read),
                    "chunks": report.chunks, "version": report.version,
                    "seconds": round(report.seconds, 3),
                }
            )
        )  # fmt: skip
    else:
        print(
            f"Indexed {report.files} files into '{report.collection}' in "
            f"{report.seconds:.1f}s: {report.added} added, {report.updated} updated, "
            f"{report.removed} removed, {report.unchanged} unchanged, "
            f"{len(report.skipped)} skipped ({report.chunks} chunks, version {report.version})."
        )
        if report.left_out:
            print(report.left_out_line())
        if report.not_read:
            print(report.not_read_line())
        for s in report.skipped:
            print(f"  skipped {s.path}: {s.reason}", file=sys.stderr)
    return 3 if args.strict and report.skipped else 0
