"""The answer-evaluation report: a Markdown page, an HTML page and PNG plots."""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from engine.evaluation.answers import EvalResult, Summary

COLUMNS = (
    ("config", "config"),
    ("fact_shown", "fact shown"),
    ("confidently_wrong", "confidently wrong"),
    ("declined_correctly", "declined correctly"),
    ("declined_wrongly", "declined wrongly"),
    ("fact_recall", "fact recall@3"),
    ("recall_at_5", "Recall@5"),
    ("keyword_recall", "keyword recall"),
    ("citation_precision", "citation precision"),
    ("citation_validity", "citation validity"),
    ("latency_p50_s", "p50 s"),
    ("latency_p95_s", "p95 s"),
    ("tokens_per_answer", "tokens/answer"),
    ("score", "score"),
)


def _cell(s: Summary, key: str) -> str:
    value = s.score if key == "score" else getattr(s, key)
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.2f}" if key.startswith(("latency", "tokens")) else f"{value:.3f}"
    return str(value)


def table_rows(summaries: Sequence[Summary]) -> list[list[str]]:
    return [[_cell(s, k) for k, _ in COLUMNS] for s in summaries]


def plot(summaries: Sequence[Summary], out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")  # no display on servers and CI
    import matplotlib.pyplot as plt

    paths = []
    fig, ax = plt.subplots(figsize=(6, 4))
    # One colour per configuration, one marker per metric: labels on the points would
    # overlap where configurations coincide (base and adapter often do).
    for i, s in enumerate(summaries):
        for key, marker, label in (
            ("keyword_recall", "o", "keyword recall"),
            ("citation_validity", "s", "citation validity"),
        ):
            value = getattr(s, key)
            if value is not None:
                ax.scatter(
                    s.latency_p50_s, value, marker=marker, s=60, color=f"C{i}",
                    alpha=0.8, label=f"{s.config}: {label}",
                )  # fmt: skip
    ax.legend(fontsize=7, loc="best")
    ax.set_xlabel("p50 latency (s)")
    ax.set_ylabel("quality (○ keyword recall, □ citation validity)")
    ax.set_ylim(-0.05, 1.05)
    ax.set_title("Quality vs latency per configuration")
    paths.append(_save(fig, out / "quality_vs_latency.png"))

    metrics = [k for k, _ in COLUMNS[1:7]]
    fig, ax = plt.subplots(figsize=(8, 4))
    width = 0.8 / max(1, len(summaries))
    for i, s in enumerate(summaries):
        vals = [getattr(s, m) or 0.0 for m in metrics]
        ax.bar([j + i * width for j in range(len(metrics))], vals, width, label=s.config)
    ax.set_xticks([j + 0.4 - width / 2 for j in range(len(metrics))])
    ax.set_xticklabels([label for _, label in COLUMNS[1:7]], rotation=20, fontsize=8)
    ax.set_ylim(0, 1.05)
    ax.legend(fontsize=8)
    ax.set_title("Metrics per configuration")
    paths.append(_save(fig, out / "metrics.png"))
    return paths


def _save(fig: Any, path: Path) -> Path:
    import matplotlib.pyplot as plt

    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def write_report(result: EvalResult, out: Path, *, title: str = "Answer evaluation") -> Path:
    """Write report.md, report.html, results.json and the plots; return report.md."""
    out.mkdir(parents=True, exist_ok=True)
    pngs = plot(result.summaries, out)
    header = [label for _, label in COLUMNS]
    rows = table_rows(result.summaries)
    md = [f"# {title}", "", f"**Recommendation:** {result.recommendation}", ""]
    md += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    md += ["| " + " | ".join(r) + " |" for r in rows]
    md += [""] + [f"- {n}" for n in result.notes]
    md += ["", *[f"![{p.stem}]({p.name})" for p in pngs], ""]
    md += [
        "Fact shown: answerable questions where every answer keyword appears in what the "
        "user reads (the answer and its quotes, not whole passages). Confidently wrong: "
        "share of all questions shown as an answer without the fact (or answered though "
        "the docs don't cover them). Declined correctly: unanswerable questions declined. "
        "Declined wrongly: answerable questions declined. Fact recall@3: answerable "
        "questions whose keywords are all in the passages given to the model (the ceiling "
        "for any reader). Recall@5: gold sources among the top 5 retrieved. Keyword "
        "recall: expected facts in the raw or shown answer. Citation validity: markers "
        "that point at a passage in the prompt. Score (the retraining gate): weighted "
        "mean of fact shown, declined correctly, 1 - declined wrongly and 3 x "
        "(1 - confidently wrong).",
    ]
    (out / "report.md").write_text("\n".join(md) + "\n", "utf-8")
    e = html.escape
    trs = "".join("<tr>" + "".join(f"<td>{e(c)}</td>" for c in r) + "</tr>" for r in rows)
    page = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{e(title)}</title>"
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}</style></head><body>"
        f"<h1>{e(title)}</h1><p><b>Recommendation:</b> {e(result.recommendation)}</p>"
        "<table><tr>"
        + "".join(f"<th>{e(h)}</th>" for h in header)
        + f"</tr>{trs}</table>"
        + "".join(f"<p>{e(n)}</p>" for n in result.notes)
        + "".join(f"<p><img src='{e(p.name)}' alt='{e(p.stem)}'></p>" for p in pngs)
        + "</body></html>"
    )
    (out / "report.html").write_text(page, "utf-8")
    (out / "results.json").write_text(json.dumps(result.to_json(), indent=2), "utf-8")
    return out / "report.md"
