"""`teamkb retrain [--config FILE] [--dry-run]` and `teamkb adapter list|rollback`.

`finetune` is imported inside the run functions: it pulls in the evaluation stack (and,
when training, torch and transformers), which `teamkb --help` must not wait for and
which may not be installed at all (the `finetune` extra).
"""

from __future__ import annotations

import argparse
import sys
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine import ConfigError, Settings
from teamkb.render import dumps

if TYPE_CHECKING:
    from finetune.config import FinetuneConfig


def register(sub: Any) -> None:
    r = sub.add_parser("retrain", help="build data, train a LoRA, ship it if it wins")
    r.add_argument(
        "--config",
        dest="finetune_config",
        type=Path,
        default=None,
        help="TOML with a [finetune] table (default: teamkb.toml's)",
    )
    r.add_argument("--dry-run", action="store_true", help="build the data set only")
    r.add_argument("--json", action="store_true")
    r.set_defaults(func=run_retrain)
    a = sub.add_parser("adapter", help="adapters in service: list, rollback")
    asub = a.add_subparsers(dest="adapter_command", metavar="WHAT", required=True)
    ls = asub.add_parser("list", help="shipped adapters with their metrics")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=run_list)
    rb = asub.add_parser("rollback", help="serve the previous adapter (or --to NAME)")
    rb.add_argument("--to", default=None)
    rb.set_defaults(func=run_rollback)


def load_config(settings: Settings, path: Path | None) -> FinetuneConfig:
    from finetune.config import FinetuneConfig

    section: Any = settings.section("finetune")
    if path is not None:
        try:
            data = tomllib.loads(path.read_text())
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"Cannot read {path}: {exc}") from exc
        section = {**section, **data.get("finetune", data)}
    return FinetuneConfig.from_section(section)


def run_retrain(args: argparse.Namespace, settings: Settings) -> int:
    from finetune.pipeline import retrain

    cfg = load_config(settings, args.finetune_config)
    out = retrain(settings, cfg, dry_run=args.dry_run)
    if args.json:
        print(dumps(out.to_json()))
    else:
        print(f"{'shipped' if out.shipped else 'not shipped'}: {out.reason}")
        print(f"report: {out.report}")
    # 128 + SIGTERM, as a shell reports a process the signal ended: systemd and cron see
    # that the run did not complete
    return 143 if out.interrupted else 0


def run_list(args: argparse.Namespace, settings: Settings) -> int:
    from finetune.history import history

    entries = history(settings.home)
    if args.json:
        print(dumps(entries))
        return 0
    if not entries:
        print("no adapter shipped yet")
        return 0
    for m in entries:
        cand = m.get("metrics", {}).get("heldout", {}).get("candidate", {})
        mark = "*" if m.get("current") else " "
        print(
            f"{mark} {m['name']}  data {m.get('dataset_version', '')}  "
            f"score {cand.get('score', 0):.3f}  kw {cand.get('keyword_recall') or 0:.2f}  "
            f"cite {cand.get('citation_validity') or 0:.2f}  "
            f"abstain {cand.get('abstention_accuracy') or 0:.2f}"
        )
    return 0


def run_rollback(args: argparse.Namespace, settings: Settings) -> int:
    from finetune.history import rollback

    pointer = rollback(settings.home, args.to)
    print(
        f"now serving {pointer.name if pointer else 'the base model (no adapter)'}", file=sys.stdout
    )
    return 0
