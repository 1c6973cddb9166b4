"""Retraining end to end on a tiny Llama (random weights, tokenizer trained on the
handbook): data → LoRA → evaluation → GGUF export → pointer → engine with the adapter."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from engine import build_engine
from engine.adapters import AdapterPointer, read_current, write_current
from engine.settings import GeneratorSettings
from finetune.config import FinetuneConfig
from finetune.history import history, rollback
from finetune.pipeline import RetrainLocked, retrain, run_lock
from tests.conftest import QUESTIONS, make_settings
from tests.fakes.tiny import TinyModel


def _cfg(tiny: TinyModel, **changes) -> FinetuneConfig:
    base = FinetuneConfig(
        base_model=str(tiny.hf_dir),
        base_gguf=str(tiny.gguf),
        rank=4,
        alpha=8,
        steps=8,
        batch_size=4,
        eval_every=4,
        max_seq_tokens=4096,
        passages_per_example=1,
        max_examples=32,
        eval_questions=4,
        ship_margin=-1.0,
        max_latency_ratio=0,
        learning_rate=1e-3,
        bf16="off",  # autocast only slows a model this small down
    )
    return replace(base, **changes)


def _settings(home: Path, tiny: TinyModel):
    return make_settings(
        home,
        answer_cache=False,
        generator=GeneratorSettings(
            backend="llamacpp", model_path=str(tiny.gguf), max_tokens=12, n_threads=2
        ),
    )


def test_config_from_section():
    cfg = FinetuneConfig.from_section(
        {"rank": "16", "target_modules": "q_proj, v_proj", "ship_margin": 0.1}
    )
    assert cfg.rank == 16 and cfg.target_modules == ("q_proj", "v_proj")
    from engine.errors import ConfigError

    with pytest.raises(ConfigError, match="Unknown"):
        FinetuneConfig.from_section({"rnak": 3})


def test_full_run_ships_then_a_worse_one_does_not(home_copy, embedder, tiny):
    settings = _settings(home_copy, tiny)
    out = retrain(settings, _cfg(tiny), embedder=embedder)
    assert out.shipped, out.reason
    # data: versioned, held-out questions never in training
    ds = home_copy / "finetune" / "datasets" / out.dataset_version
    train = [json.loads(x) for x in (ds / "train.jsonl").read_text().splitlines()]
    held = [json.loads(x) for x in (ds / "heldout.jsonl").read_text().splitlines()]
    assert train and held and not {e["question"] for e in train} & {e["question"] for e in held}
    kinds = {e["kind"] for e in train + held}
    assert {"cited", "abstain", "distractor"} <= kinds
    cited = next(e for e in train if e["kind"] == "cited")
    assert cited["prompt"].endswith("Answer:") and "Now the real task." in cited["prompt"]
    # the target is the supporting sentence, verbatim, cited (what the engine keeps)
    assert re.search(r" \[1\][.!?]\n$", cited["completion"]), cited["completion"]
    # training curve, report, pointer, Ollama Modelfile
    assert (out.run_dir / "train" / "losses.csv").read_text().startswith("step,train_loss")
    assert "Shipped" in out.report.read_text()
    pointer = read_current(home_copy)
    assert pointer and pointer.name == out.name and Path(pointer.gguf).is_file()
    assert (Path(pointer.gguf).parent / "Modelfile").read_text().startswith("FROM ")
    # the engine picks the adapter up from the pointer and answers with it
    engine = build_engine(
        replace(settings, generator=replace(settings.generator, use_adapter=True)),
        embedder=embedder,
    )
    answer = engine.ask("how do I roll back a deploy?")
    assert answer.adapter == f"{out.name}/adapter.gguf" and not answer.degraded
    # a run that cannot win leaves the pointer where it is; the team's own questions
    # join the held-out sample at the gate
    team = home_copy / "team-questions.jsonl"
    team.write_text(QUESTIONS.read_text().splitlines()[0] + "\n")
    worse = retrain(
        settings, _cfg(tiny, ship_margin=10.0, gate_questions=str(team)), embedder=embedder
    )
    assert not worse.shipped and "below the ship margin" in worse.reason
    gated = json.loads((worse.run_dir / "manifest.json").read_text())["metrics"]["heldout"]
    shipped = json.loads((out.run_dir / "manifest.json").read_text())["metrics"]["heldout"]
    assert gated["candidate"]["questions"] == shipped["candidate"]["questions"] + 1
    assert read_current(home_copy) == pointer
    assert "Not shipped" in worse.report.read_text()
    entries = history(home_copy)
    assert [m["name"] for m in entries] == [out.name] and entries[0]["current"]
    assert rollback(home_copy) is None and read_current(home_copy) is None


def test_interrupted_run_leaves_the_pointer_untouched(home_copy, embedder, tiny):
    before = AdapterPointer("old", "/x/old.gguf", "", "")
    write_current(home_copy, before)

    def boom(stage: str) -> None:
        if stage == "train":  # after the data set, mid-run
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        retrain(_settings(home_copy, tiny), _cfg(tiny), embedder=embedder, on_stage=boom)
    assert read_current(home_copy) == before
    runs = list((home_copy / "finetune" / "runs").glob("*/manifest.json"))
    assert json.loads(runs[0].read_text())["status"] == "failed"


_SIGTERM_RUN = """
import sys
from pathlib import Path
from finetune.pipeline import retrain
from tests.fakes.tiny import TinyModel
from tests.finetune.test_retrain import _cfg, _settings

tiny = TinyModel(Path(sys.argv[2]), Path(sys.argv[3]))
out = retrain(_settings(Path(sys.argv[1]), tiny), _cfg(tiny, steps=100_000, eval_every=1000))
print(out.reason)
sys.exit(143 if out.interrupted else 0)
"""


def test_sigterm_mid_training_ends_cleanly(home_copy, tiny):
    """systemd stopping the unit: a real process, SIGTERM once training is under way."""
    before = AdapterPointer("old", "/x/old.gguf", "", "")
    write_current(home_copy, before)
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root), "HF_HUB_OFFLINE": "1"}
    argv = [sys.executable, "-c", _SIGTERM_RUN, str(home_copy), str(tiny.hf_dir), str(tiny.gguf)]
    proc = subprocess.Popen(argv, env=env, cwd=root, stdout=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 240
        while "step 2/100000" not in _run_log(home_copy):  # a training step has been logged
            assert proc.poll() is None and time.monotonic() < deadline, _run_log(home_copy)
            time.sleep(0.5)
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=120)
    finally:  # a failed wait must not leave a 100,000-step run behind
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 143 and "interrupted (stopped by SIGTERM)" in out
    assert read_current(home_copy) == before
    run_dir = next((home_copy / "finetune" / "runs").iterdir())
    assert (
        "interrupted (stopped by SIGTERM) during the train stage"
        in (run_dir / "report.md").read_text()
    )
    assert json.loads((run_dir / "manifest.json").read_text())["status"] == "interrupted"
    with run_lock(home_copy):  # no stale lock: the next run can start at once
        pass


def _run_log(home: Path) -> str:
    logs = list((home / "finetune" / "runs").glob("*/run.log"))
    return logs[0].read_text() if logs else ""


def test_concurrent_run_is_refused(home_copy, tiny):
    with run_lock(home_copy):
        with pytest.raises(RetrainLocked):
            retrain(_settings(home_copy, tiny), _cfg(tiny))
        errors: list[BaseException] = []
        t = threading.Thread(target=lambda: _try(home_copy, errors))
        t.start()
        t.join()
        assert isinstance(errors[0], RetrainLocked)


def _try(home: Path, errors: list) -> None:
    try:
        with run_lock(home):
            pass
    except RetrainLocked as exc:
        errors.append(exc)


def test_llama_cpp_with_exported_lora_matches_peft(tiny, tmp_path: Path):
    import torch
    from llama_cpp import Llama
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from finetune.export import lora_to_gguf

    model = AutoModelForCausalLM.from_pretrained(str(tiny.hf_dir), dtype=torch.float32)
    peft_model = get_peft_model(
        model,
        LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "k_proj", "v_proj", "o_proj"]),
    )
    torch.manual_seed(1)
    for name, p in peft_model.named_parameters():
        if "lora_B" in name:  # peft starts B at zero; make the adapter matter
            p.data.normal_(0, 0.5)
    peft_model.save_pretrained(str(tmp_path / "adapter"))
    gguf = lora_to_gguf(tmp_path / "adapter", tiny.gguf, tmp_path / "adapter.gguf")
    llm = Llama(
        model_path=str(tiny.gguf),
        lora_path=str(gguf),
        n_ctx=256,
        logits_all=True,
        n_threads=2,
        verbose=False,
    )
    for text in (b"Deploy the service with shipit", b"Rotate the db password", b"On-call"):
        ids = llm.tokenize(text, add_bos=True)
        llm.reset()
        llm.eval(ids)
        ours = np.array(llm.scores[: len(ids)])
        with torch.no_grad():
            theirs = peft_model(torch.tensor([ids])).logits[0].numpy()
            with peft_model.disable_adapter():
                base = peft_model(torch.tensor([ids])).logits[0].numpy()
        assert np.abs(base - theirs).max() > 0.1  # the adapter changes the output...
        assert np.abs(ours - theirs).max() < 1e-2  # ...and llama.cpp applies it exactly
        assert (ours.argmax(-1) == theirs.argmax(-1)).all()


@pytest.mark.gpu
@pytest.mark.parametrize("arch", ["llama", "gemma3"])
def test_unsloth_path_on_cuda(tiny, tmp_path: Path, arch: str):
    """Unsloth patches Llama-style models and Gemma 3 differently: the Llama path ignores
    `logits_to_keep` (finetune.loss copes), Gemma 3 is the real base's architecture."""
    from finetune.train import cuda_available, train_lora

    if not cuda_available():
        pytest.skip("needs a CUDA GPU")
    from finetune.dataset import Example
    from tests.fakes.tiny import make_tiny_gemma3

    base = tiny.hf_dir if arch == "llama" else make_tiny_gemma3(tiny.hf_dir, tmp_path / "g3")
    ex = Example("e", "cited", "q?", "Question: q?\nAnswer:", " A [1].\n")
    res = train_lora(base, [ex] * 8, [ex], _cfg(tiny, base_model=str(base)), tmp_path / "out")
    assert res.device == "cuda" and (res.adapter_dir / "adapter_config.json").exists()
    assert res.steps == 8 and res.best_val_loss is not None
