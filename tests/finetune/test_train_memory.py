"""The completion-only loss and the memory estimate, on the tiny model."""

from __future__ import annotations

from dataclasses import replace

import pytest

from finetune.config import FinetuneConfig
from finetune.loss import completion_loss
from finetune.memory import GB, MemoryRefused, ModelShape, check_fits
from tests.fakes.tiny import TinyModel


def _batch(torch, pad: int = 0):
    """Two rows of different prompt lengths, right-padded, prompt masked with -100."""
    g = torch.Generator().manual_seed(3)
    rows = []
    for prompt_len, answer_len in ((11, 4), (5, 6)):
        ids = torch.randint(3, 300, (prompt_len + answer_len,), generator=g).tolist()
        rows.append((ids, [-100] * prompt_len + ids[prompt_len:]))
    width = max(len(i) for i, _ in rows)
    return {
        "input_ids": torch.tensor([i + [pad] * (width - len(i)) for i, _ in rows]),
        "labels": torch.tensor([lab + [-100] * (width - len(lab)) for _, lab in rows]),
        "attention_mask": torch.tensor([[1] * len(i) + [0] * (width - len(i)) for i, _ in rows]),
    }


def test_completion_only_loss_equals_masked_full_sequence_loss(tiny: TinyModel):
    import torch
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(str(tiny.hf_dir), dtype=torch.float32)
    batch = _batch(torch)
    full = model(**batch).loss  # logits over every position, prompt masked by the labels
    ours, learnt = completion_loss(model, batch)
    assert int(learnt) == 4 + 6  # every answer token, predicted from the position before
    assert abs(float(ours.detach()) - float(full.detach())) < 1e-5
    # the gradient is the same too, so training follows the same path
    g_full = torch.autograd.grad(full, model.lm_head.weight)[0]
    g_ours = torch.autograd.grad(completion_loss(model, batch)[0], model.lm_head.weight)[0]
    assert torch.allclose(g_full, g_ours, atol=1e-6)


def test_a_forward_that_ignores_logits_to_keep_gives_the_same_loss(tiny: TinyModel):
    """Unsloth's fast Llama forward returns every position whatever `logits_to_keep`
    says (seen on an H200: "Expected input batch_size (27) to match target batch_size
    (8)"); the loss must not depend on which forward the model has."""
    import torch
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(str(tiny.hf_dir), dtype=torch.float32)

    class EveryPosition(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = model

        def forward(self, logits_to_keep=None, **kwargs):
            return self.inner(**kwargs)

    batch = _batch(torch)
    full = model(**batch).loss
    ours, learnt = completion_loss(EveryPosition(), batch)
    assert int(learnt) == 4 + 6
    assert abs(float(ours.detach()) - float(full.detach())) < 1e-5


def test_memory_estimate_refuses_a_run_far_too_large(tiny: TinyModel):
    shape = ModelShape.of(tiny.hf_dir)
    cfg = FinetuneConfig(micro_batch_size=4096, max_seq_tokens=8192)
    with pytest.raises(MemoryRefused, match=r"lower \[finetune\] micro_batch_size \(now 4096\)"):
        check_fits(shape, cfg, bf16=False, available=8 * GB)
    with pytest.raises(MemoryRefused, match=r"max_seq_tokens \(now 8192\)"):
        check_fits(shape, replace(cfg, micro_batch_size=1), bf16=False, available=1 * GB)
    assert check_fits(shape, FinetuneConfig(), bf16=False, available=8 * GB) < 8 * GB


def test_gemma_defaults_fit_a_machine_with_8_gb_free():
    """The shipped defaults, on Gemma 3 270M's shape, even if every token were learnt;
    eight rows per forward pass would not fit."""
    gemma = ModelShape(268_000_000, 262_144, 640, 18, 2048, 4)
    assert check_fits(gemma, FinetuneConfig(), bf16=True, available=8 * GB) < 6.8 * GB
    with pytest.raises(MemoryRefused, match="micro_batch_size"):
        check_fits(gemma, FinetuneConfig(micro_batch_size=8), bf16=True, available=8 * GB)
