"""One nightly retraining run, and the adapter history (list, rollback).

Order matters for safety: everything is built inside the run folder, and the adapter
pointer moves last, in one atomic write; a run that fails or is interrupted anywhere
before that leaves the adapter in service untouched.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from engine.adapters import AdapterPointer, adapters_dir, read_current, write_current
from engine.errors import TeamkbError
from engine.evaluation.answers import EvalConfig, Question, Summary, evaluate, load_questions
from engine.evaluation.answers import result as eval_result
from engine.prompting import prompt_budget
from engine.settings import Settings
from finetune.config import FinetuneConfig

log = logging.getLogger(__name__)

Stage = Callable[[str], None]
STAGES = ("base", "dataset", "train", "export", "evaluate", "ship")


class RetrainLocked(TeamkbError):
    """Another retraining run holds the lock."""


class AdapterHistoryError(TeamkbError):
    """Nothing to roll back to, or no such adapter."""


@dataclass(frozen=True)
class RunOutcome:
    name: str
    run_dir: Path
    shipped: bool
    reason: str
    dataset_version: str = ""
    metrics: dict[str, Any] | None = None
    adapter_gguf: str = ""
    report: Path | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "run_dir": str(self.run_dir),
            "shipped": self.shipped,
            "reason": self.reason,
            "dataset_version": self.dataset_version,
            "metrics": self.metrics or {},
            "adapter_gguf": self.adapter_gguf,
            "report": str(self.report or ""),
        }


def finetune_dir(home: Path) -> Path:
    return home / "finetune"


@contextmanager
def run_lock(home: Path) -> Iterator[None]:
    """An OS lock on `retrain.lock` (flock on Unix): released if the process dies, so
    there are no stale locks to clear by hand."""
    path = finetune_dir(home) / "retrain.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    # A new FileLock per call, never shared: two runs in one process must also exclude
    # each other. timeout=0: a second run is refused at once, not queued.
    lock = FileLock(path, timeout=0)
    try:
        lock.acquire()
    except Timeout as exc:
        raise RetrainLocked(
            f"Another retraining run is in progress (lock {path}); try again later."
        ) from exc
    try:
        path.write_text(f"{os.getpid()}\n")  # who holds it, for a person looking
        yield
    finally:
        lock.release()


def prepare_base(settings: Settings, cfg: FinetuneConfig) -> tuple[Path, Path]:
    """(HF folder to train on, GGUF llama.cpp serves). A GGUF base is converted to an HF
    folder once and cached, since loading it through transformers takes a while."""
    from engine.generators.llamacpp import packaged_model

    base = Path(cfg.base_model) if cfg.base_model else None
    if base is not None and base.is_dir():
        gguf = Path(cfg.base_gguf) if cfg.base_gguf else packaged_model(settings.home / "models")
        return base, gguf
    src = base or packaged_model(settings.home / "models")
    gguf = Path(cfg.base_gguf) if cfg.base_gguf else src
    hf = finetune_dir(settings.home) / "base-hf" / src.stem
    if not (hf / "config.json").exists():
        gguf_to_hf(src, hf)
    return hf, gguf


def gguf_to_hf(src: Path, out: Path) -> Path:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    log.info("converting %s to an HF folder (once)", src.name)
    tmp = out.with_name(out.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    kw: dict[str, Any] = {"gguf_file": src.name}
    tok = AutoTokenizer.from_pretrained(str(src.parent), **kw)
    model = AutoModelForCausalLM.from_pretrained(str(src.parent), dtype=torch.float32, **kw)
    # dequantised weights are plain fp32; the quantizer would refuse to save them
    model.hf_quantizer = None  # type: ignore[assignment]
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.save_pretrained(str(tmp))
    tok.save_pretrained(str(tmp))
    shutil.rmtree(out, ignore_errors=True)
    tmp.replace(out)
    return out


def _summary_json(s: Summary | None) -> dict[str, Any]:
    return s.to_json() if s else {}


def gate(
    cfg: FinetuneConfig,
    service: Summary,
    candidate: Summary,
    check_service: Summary | None = None,
    check_candidate: Summary | None = None,
) -> tuple[bool, str]:
    """Ship only a clear win that breaks nothing else. Returns (ship, why)."""
    gain = candidate.score - service.score
    if gain < cfg.ship_margin:
        return False, (
            f"candidate score {candidate.score:.3f} vs service {service.score:.3f} "
            f"({gain:+.3f}) is below the ship margin {cfg.ship_margin:+.3f}"
        )
    if check_service and check_candidate:
        drop = check_service.score - check_candidate.score
        if drop > cfg.check_tolerance:
            return False, (
                f"general-ability check drops {drop:.3f} (tolerance {cfg.check_tolerance:.3f})"
            )
    if cfg.max_latency_ratio > 0 and service.latency_p50_s > 0:
        ratio = candidate.latency_p50_s / service.latency_p50_s
        if ratio > cfg.max_latency_ratio:
            return False, f"candidate is {ratio:.2f}x slower (limit {cfg.max_latency_ratio}x)"
    return True, (
        f"candidate score {candidate.score:.3f} beats service {service.score:.3f} "
        f"by {gain:+.3f} (margin {cfg.ship_margin:+.3f})"
    )


def _eval_pair(
    settings: Settings,
    questions: Sequence[Question],
    service_gen: Any,
    cand_gen: Any,
    embedder: Any,
    collection: str | None,
) -> tuple[Summary, Summary]:
    outcomes = evaluate(
        settings,
        questions,
        [EvalConfig("service", service_gen, True), EvalConfig("candidate", cand_gen, True)],
        embedder=embedder,
        collection=collection,
    )
    res = eval_result(outcomes)
    service, cand = res.summary("service"), res.summary("candidate")
    assert service is not None and cand is not None
    return service, cand


def retrain(
    settings: Settings,
    cfg: FinetuneConfig,
    *,
    embedder: Any = None,
    dry_run: bool = False,
    on_stage: Stage | None = None,
) -> RunOutcome:
    """One run; see the module docstring for the failure guarantees."""
    home = settings.home
    with run_lock(home):
        name = datetime.now(UTC).strftime("%Y-%m-%dT%H%M%S")
        run_dir = finetune_dir(home) / "runs" / name
        run_dir.mkdir(parents=True, exist_ok=True)
        try:
            return _run(
                settings, cfg, name, run_dir, embedder, dry_run, on_stage or (lambda s: None)
            )
        except BaseException as exc:
            (run_dir / "manifest.json").write_text(
                json.dumps(
                    {"name": name, "status": "failed", "error": f"{type(exc).__name__}: {exc}"},
                    indent=2,
                )
            )
            _write_report(
                run_dir, name, False, f"the run failed: {type(exc).__name__}: {exc}", {}, []
            )
            raise


def _run(
    settings: Settings,
    cfg: FinetuneConfig,
    name: str,
    run_dir: Path,
    embedder: Any,
    dry_run: bool,
    stage: Stage,
) -> RunOutcome:
    from transformers import AutoTokenizer

    from engine.evaluation.questions import load_chunks
    from engine.factory import build_engine, build_generator
    from finetune.dataset import build_dataset
    from finetune.export import lora_to_gguf, ollama_register, write_modelfile
    from finetune.train import train_lora

    home = settings.home
    collection = cfg.collection or None
    t0 = time.perf_counter()
    notes: list[str] = []
    stage("base")
    hf_dir, base_gguf = prepare_base(settings, cfg)
    tok = AutoTokenizer.from_pretrained(str(hf_dir))

    def count_tokens(text: str) -> int:
        return len(tok(text, add_special_tokens=False)["input_ids"])

    stage("dataset")
    search_engine = build_engine(
        replace(settings, answer_cache=False), embedder=embedder, with_generator=False
    )
    embedder = search_engine.embedder
    g = settings.generator
    ds = build_dataset(
        finetune_dir(home) / "datasets",
        load_chunks(settings, collection),
        cfg,
        count_tokens=count_tokens,
        budget_tokens=prompt_budget(g.n_ctx, g.max_tokens),
        search=lambda q: search_engine.search(q, collection=collection),
        home=home,
    )
    metrics: dict[str, Any] = {"dataset": ds.counts()}
    if dry_run:
        reason = "dry run: data set built, nothing trained or shipped"
        _write_report(run_dir, name, False, reason, metrics, notes)
        return RunOutcome(
            name, run_dir, False, reason, ds.version, metrics, report=run_dir / "report.md"
        )
    stage("train")
    tr = train_lora(hf_dir, ds.train, ds.heldout, cfg, run_dir / "train")
    metrics["training"] = tr.to_json()
    stage("export")
    cand_gguf = lora_to_gguf(tr.adapter_dir, base_gguf, run_dir / "adapter.gguf")
    stage("evaluate")
    serve = replace(
        settings, generator=replace(g, backend="llamacpp", model_path=str(base_gguf), lora_path="")
    )
    service_gen = build_generator(serve)  # base + the adapter in service, if any
    cand_gen = build_generator(
        replace(
            serve, generator=replace(serve.generator, use_adapter=False, lora_path=str(cand_gguf))
        )
    )
    questions = [q for q in (e.as_question() for e in ds.heldout) if q is not None]
    if cfg.eval_questions:
        ans = [q for q in questions if q.kind == "answerable"]
        una = [q for q in questions if q.kind == "unanswerable"]
        half = max(1, cfg.eval_questions // 2)
        questions = ans[: cfg.eval_questions - min(half, len(una))] + una[:half]
    if cfg.gate_questions:
        questions += load_questions(Path(cfg.gate_questions))
    if not questions:
        raise TeamkbError("The held-out split is empty: raise holdout_fraction.")
    service, cand = _eval_pair(serve, questions, service_gen, cand_gen, embedder, collection)
    metrics["heldout"] = {"service": _summary_json(service), "candidate": _summary_json(cand)}
    check_s = check_c = None
    if cfg.check_questions:
        check = load_questions(Path(cfg.check_questions))
        check_s, check_c = _eval_pair(serve, check, service_gen, cand_gen, embedder, collection)
        metrics["check"] = {"service": _summary_json(check_s), "candidate": _summary_json(check_c)}
    ship, reason = gate(cfg, service, cand, check_s, check_c)
    metrics["seconds"] = round(time.perf_counter() - t0, 1)
    stage("ship")
    manifest = {
        "name": name,
        "status": "shipped" if ship else "rejected",
        "reason": reason,
        "dataset_version": ds.version,
        "dataset": str(ds.path),
        "metrics": metrics,
        "base_model": str(hf_dir),
        "base_gguf": str(base_gguf),
        "config": cfg.to_json(),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "tags": [f"data:{ds.version}", "shipped" if ship else "rejected"],
    }
    gguf_path = ""
    if ship:
        target = adapters_dir(home) / name
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy2(cand_gguf, target / "adapter.gguf")
        gguf_path = str((target / "adapter.gguf").resolve())
        modelfile = write_modelfile(target / "Modelfile", cfg.ollama_base, Path(gguf_path))
        tag = f"teamkb-adapter:{name.replace(':', '').lower()}"
        registered, how = ollama_register(modelfile, tag)
        notes.append(how)
        manifest.update(
            gguf=gguf_path, modelfile=str(modelfile), ollama_model=tag if registered else ""
        )
        (target / "manifest.json").write_text(json.dumps(manifest, indent=2))
        # the commit point: only now does the service see the new adapter
        write_current(
            home, AdapterPointer(name, gguf_path, tag if registered else "", str(base_gguf))
        )
    (run_dir / "manifest.json").write_text(json.dumps(manifest, indent=2))
    _write_report(run_dir, name, ship, reason, metrics, notes)
    return RunOutcome(
        name, run_dir, ship, reason, ds.version, metrics, gguf_path, run_dir / "report.md"
    )


def _fmt(v: Any) -> str:
    return f"{v:.3f}" if isinstance(v, float) else ("–" if v is None else str(v))


def _write_report(
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


# -- history ---------------------------------------------------------------------------
def history(home: Path) -> list[dict[str, Any]]:
    """Shipped adapters, oldest first, each with its manifest and whether it is current."""
    root = adapters_dir(home)
    current = read_current(home)
    out = []
    for path in sorted(root.glob("*/manifest.json")):
        try:
            m = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        m["current"] = bool(current and current.name == m.get("name"))
        out.append(m)
    return out


def rollback(home: Path, to: str | None = None) -> AdapterPointer | None:
    """Point the service at the adapter shipped before the current one (or at `to`);
    from the oldest adapter, back to the base model (None)."""
    entries = history(home)
    current = read_current(home)
    if to:
        match = next((m for m in entries if m.get("name") == to), None)
        if match is None:
            raise AdapterHistoryError(f"No shipped adapter named {to}: see teamkb adapter list.")
        target: dict[str, Any] | None = match
    else:
        if current is None:
            raise AdapterHistoryError("No adapter is in service: nothing to roll back.")
        names = [m["name"] for m in entries]
        idx = names.index(current.name) if current.name in names else len(names)
        target = entries[idx - 1] if idx > 0 else None
    pointer = None
    if target is not None:
        pointer = AdapterPointer(
            target["name"],
            target.get("gguf", ""),
            target.get("ollama_model", ""),
            target.get("base_gguf", ""),
        )
    write_current(home, pointer)
    return pointer
