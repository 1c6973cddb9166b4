"""`report.md`: what a run did, and why it shipped or not, for the person reading it."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any


def _fmt(v: Any) -> str:
    return f"{v:.3f}" if isinstance(v, float) else ("–" if v is None else str(v))


def write_report(
    run_dir: Path,
    name: str,
    shipped: bool,
    reason: str,
    metrics: dict[str, Any],
    notes: Sequence[str],
) -> Path:
    lines = [
        f"# Retraining run {name}",
        "",
        f"**{'Shipped' if shipped else 'Not shipped'}:** {reason}.",
        "",
    ]
    if "dataset" in metrics:
        lines += ["## Data", "", ", ".join(f"{k}: {v}" for k, v in metrics["dataset"].items()), ""]
    if "training" in metrics:
        t = metrics["training"]
        lines += [
            "## Training",
            "",
            f"{t['steps']} steps on {t['device']}, best validation "
            f"loss {_fmt(t['best_val_loss'])}, {t['tokens_per_s']} tokens/s, early stop: "
            f"{t['stopped_early']} (curve: train/losses.csv)",
            "",
        ]
    for part in ("heldout", "check"):
        if part in metrics:
            keys = [
                "score",
                "keyword_recall",
                "citation_validity",
                "abstention_accuracy",
                "latency_p50_s",
            ]
            lines += [
                f"## Evaluation ({part})",
                "",
                "| | " + " | ".join(keys) + " |",
                "|---" * (len(keys) + 1) + "|",
            ]
            for who in ("service", "candidate"):
                row = metrics[part][who]
                lines.append(f"| {who} | " + " | ".join(_fmt(row.get(k)) for k in keys) + " |")
            lines.append("")
    lines += [f"- {n}" for n in notes]
    path = run_dir / "report.md"
    path.write_text("\n".join(lines) + "\n", "utf-8")
    return path
