"""One nightly retraining run: data → base model → train → export → gate → ship or refuse
→ report, one function per stage.

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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from filelock import FileLock, Timeout

from engine import AdapterPointer, Settings, TeamkbError, adapters_dir, prompt_budget, write_current
from engine.evaluation import load_questions
from finetune.base import prepare_base
from finetune.config import FinetuneConfig
from finetune.errors import TrainingError
from finetune.gate import eval_pair, gate, gate_questions, summary_json
from finetune.interrupt import RunInterrupted, sigterm_interrupts
from finetune.paths import finetune_dir
from finetune.report import write_report
from finetune.runlog import run_log

if TYPE_CHECKING:
    from finetune.dataset import Dataset
    from finetune.train import TrainResult

log = logging.getLogger(__name__)

Stage = Callable[[str], None]
STAGES = ("base", "dataset", "train", "export", "evaluate", "ship")
# Below these the held-out split cannot both pick a checkpoint and judge it at the gate.
MIN_TRAIN, MIN_HELDOUT = 8, 2


class RetrainLocked(TeamkbError):
    """Another retraining run holds the lock."""


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
    interrupted: bool = False

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
            "interrupted": self.interrupted,
        }


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


def retrain(
    settings: Settings,
    cfg: FinetuneConfig,
    *,
    embedder: Any = None,
    dry_run: bool = False,
    on_stage: Stage | None = None,
) -> RunOutcome:
    """One run; see the module docstring for the failure guarantees. A SIGTERM ends it
    with an "interrupted" outcome (and report) rather than an exception."""
    home = settings.home
    with sigterm_interrupts(), run_lock(home):
        name = datetime.now(UTC).strftime("%Y-%m-%dT%H%M%S")
        run_dir = finetune_dir(home) / "runs" / name
        run_dir.mkdir(parents=True, exist_ok=True)
        run = _Run(settings, cfg, name, run_dir)
        report_stage = on_stage or (lambda s: None)

        def stage(s: str) -> None:
            run.stage = s
            log.info("stage: %s", s)
            report_stage(s)

        with run_log(run_dir / "run.log"):
            try:
                return _run(run, embedder, dry_run, stage)
            except RunInterrupted as exc:
                return _interrupted(run, exc)
            except BaseException as exc:
                _failed(run, f"the run failed: {type(exc).__name__}: {exc}", "failed")
                raise


def _failed(run: _Run, reason: str, status: str) -> None:
    (run.run_dir / "manifest.json").write_text(
        json.dumps({"name": run.name, "status": status, "error": reason}, indent=2)
    )
    write_report(run.run_dir, run.name, False, reason, run.metrics, run.notes)


def _interrupted(run: _Run, exc: RunInterrupted) -> RunOutcome:
    reason = (
        f"interrupted ({exc}) during the {run.stage} stage; the adapter in service is unchanged"
    )
    log.warning("%s", reason)
    _failed(run, reason, "interrupted")
    return RunOutcome(
        run.name, run.run_dir, False, reason, report=run.run_dir / "report.md", interrupted=True
    )


@dataclass
class _Run:
    """What the stages of one run share; `metrics` and `notes` fill up as they go."""

    settings: Settings
    cfg: FinetuneConfig
    name: str
    run_dir: Path
    metrics: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.perf_counter)
    stage: str = "start"

    @property
    def collection(self) -> str | None:
        return self.cfg.collection or None


@dataclass(frozen=True)
class _Base:
    hf_dir: Path  # trained on
    gguf: Path  # served by llama.cpp, with the adapter
    count_tokens: Callable[[str], int]  # the base tokenizer's, to fit prompts


def _run(run: _Run, embedder: Any, dry_run: bool, stage: Stage) -> RunOutcome:
    from finetune.export import lora_to_gguf

    stage("base")
    base = _base_model(run)
    _check_memory(run, base)  # before the data set: a run that cannot fit does no work
    stage("dataset")
    ds, embedder = _data(run, base, embedder)
    _check_splits(ds)
    if dry_run:
        return _dry_run(run, ds)
    stage("train")
    tr = _train(run, base, ds)
    stage("export")
    cand_gguf = lora_to_gguf(tr.adapter_dir, base.gguf, run.run_dir / "adapter.gguf")
    stage("evaluate")
    ship, reason = _gate(run, base, ds, cand_gguf, embedder)
    run.metrics["seconds"] = round(time.perf_counter() - run.started, 1)
    stage("ship")
    return _ship_or_refuse(run, base, ds, cand_gguf, ship, reason)


def _base_model(run: _Run) -> _Base:
    from transformers import AutoTokenizer

    hf_dir, gguf = prepare_base(run.settings, run.cfg)
    tok = AutoTokenizer.from_pretrained(str(hf_dir))

    def count_tokens(text: str) -> int:
        return len(tok(text, add_special_tokens=False)["input_ids"])

    return _Base(hf_dir, gguf, count_tokens)


def _check_memory(run: _Run, base: _Base) -> None:
    """Refuse (MemoryRefused) a CPU run whose estimated peak exceeds available memory."""
    from finetune.memory import GB, ModelShape, check_fits
    from finetune.train import cuda_available, use_bf16

    if cuda_available():
        return  # GPU memory is Unsloth's to manage; host memory holds little
    peak = check_fits(ModelShape.of(base.hf_dir), run.cfg, use_bf16(run.cfg, "cpu"))
    run.metrics["memory_estimate_gb"] = round(peak / GB, 2)


def _check_splits(ds: Dataset) -> None:
    if len(ds.train) < MIN_TRAIN or len(ds.heldout) < MIN_HELDOUT:
        raise TrainingError(
            f"The corpus is too small to retrain on: it gave {len(ds.train)} training and "
            f"{len(ds.heldout)} held-out examples (at least {MIN_TRAIN} and {MIN_HELDOUT} "
            "are needed to pick and judge an adapter). Index more documents, or raise "
            "[finetune] holdout_fraction if only the held-out split is short."
        )


def _data(run: _Run, base: _Base, embedder: Any) -> tuple[Dataset, Any]:
    """The versioned data set, and the embedder its search used: the gate reuses it
    rather than loading the model a second time."""
    from engine import build_engine
    from finetune.dataset import build_dataset

    settings = run.settings
    search_engine = build_engine(
        replace(settings, answer_cache=False), embedder=embedder, with_generator=False
    )
    g = settings.generator
    ds = build_dataset(
        finetune_dir(settings.home) / "datasets",
        search_engine.chunks(run.collection),
        run.cfg,
        count_tokens=base.count_tokens,
        budget_tokens=prompt_budget(g.n_ctx, g.max_tokens),
        search=lambda q: search_engine.search(q, collection=run.collection),
        home=settings.home,
        state_url=settings.state_url,
    )
    run.metrics["dataset"] = ds.counts()
    return ds, search_engine.embedder


def _dry_run(run: _Run, ds: Dataset) -> RunOutcome:
    return _conclude(run, ds, False, "dry run: data set built, nothing trained or shipped")


def _conclude(run: _Run, ds: Dataset, shipped: bool, reason: str, gguf: str = "") -> RunOutcome:
    """Write the report that says why, and the outcome the CLI prints."""
    write_report(run.run_dir, run.name, shipped, reason, run.metrics, run.notes)
    report = run.run_dir / "report.md"
    return RunOutcome(run.name, run.run_dir, shipped, reason, ds.version, run.metrics, gguf, report)


def _train(run: _Run, base: _Base, ds: Dataset) -> TrainResult:
    from finetune.train import train_lora

    tr = train_lora(base.hf_dir, ds.train, ds.heldout, run.cfg, run.run_dir / "train")
    run.metrics["training"] = tr.to_json()
    return tr


def _gate(run: _Run, base: _Base, ds: Dataset, cand_gguf: Path, embedder: Any) -> tuple[bool, str]:
    """Both sides served by llama.cpp on the same base GGUF, so only the adapter differs."""
    from engine import build_generator

    cfg = run.cfg
    g = run.settings.generator
    serve = replace(
        run.settings,
        generator=replace(g, backend="llamacpp", model_path=str(base.gguf), lora_path=""),
    )
    service_gen = build_generator(serve)  # base + the adapter in service, if any
    cand_gen = build_generator(
        replace(
            serve, generator=replace(serve.generator, use_adapter=False, lora_path=str(cand_gguf))
        )
    )
    questions = gate_questions(ds.heldout, cfg)
    if not questions:
        raise TeamkbError("The held-out split has no question to ask: raise holdout_fraction.")
    service, cand = eval_pair(serve, questions, service_gen, cand_gen, embedder, run.collection)
    run.metrics["heldout"] = {"service": summary_json(service), "candidate": summary_json(cand)}
    check_s = check_c = None
    if cfg.check_questions:
        check = load_questions(Path(cfg.check_questions))
        check_s, check_c = eval_pair(serve, check, service_gen, cand_gen, embedder, run.collection)
        run.metrics["check"] = {
            "service": summary_json(check_s),
            "candidate": summary_json(check_c),
        }
    return gate(cfg, service, cand, check_s, check_c)


def _ship_or_refuse(
    run: _Run, base: _Base, ds: Dataset, cand_gguf: Path, ship: bool, reason: str
) -> RunOutcome:
    manifest = {
        "name": run.name,
        "status": "shipped" if ship else "rejected",
        "reason": reason,
        "dataset_version": ds.version,
        "dataset": str(ds.path),
        "metrics": run.metrics,
        "base_model": str(base.hf_dir),
        "base_gguf": str(base.gguf),
        "config": run.cfg.to_json(),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "tags": [f"data:{ds.version}", "shipped" if ship else "rejected"],
    }
    gguf_path = _ship(run, base, cand_gguf, manifest) if ship else ""
    (run.run_dir / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return _conclude(run, ds, ship, reason, gguf_path)


def _ship(run: _Run, base: _Base, cand_gguf: Path, manifest: dict[str, Any]) -> str:
    """Install the adapter under adapters/<name>/, register it with Ollama if it can, then
    move the pointer. Adds what it installed to `manifest`; returns the GGUF's path."""
    from finetune.export import ollama_register, write_modelfile

    home, name = run.settings.home, run.name
    target = adapters_dir(home) / name
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy2(cand_gguf, target / "adapter.gguf")
    gguf_path = str((target / "adapter.gguf").resolve())
    modelfile = write_modelfile(target / "Modelfile", run.cfg.ollama_base, Path(gguf_path))
    tag = f"teamkb-adapter:{name.replace(':', '').lower()}"
    registered, how = ollama_register(modelfile, tag)
    run.notes.append(how)
    manifest.update(
        gguf=gguf_path, modelfile=str(modelfile), ollama_model=tag if registered else ""
    )
    (target / "manifest.json").write_text(json.dumps(manifest, indent=2))
    # the commit point: only now does the service see the new adapter
    write_current(home, AdapterPointer(name, gguf_path, tag if registered else "", str(base.gguf)))
    return gguf_path
