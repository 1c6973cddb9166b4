"""Completion-only loss that never computes logits over the prompt.

Why by hand: the LM head of Gemma 3 270M is 262k x 640, so its logits cost more than
the rest of the model per token, and a training prompt (~700 tokens of passages) is
mostly prompt. `transformers` computes logits for every position unless told
`logits_to_keep`; TRL 1.16's fused LM head scores only the completion positions on
Triton devices, but every position elsewhere, CPU included. Here only the positions whose
next token is learnt (label != -100) go through the head.
"""

from __future__ import annotations

from typing import Any


def kept_positions(labels: Any) -> Any:
    """Positions t (over the whole micro-batch) whose next token t+1 is learnt in any row.
    With right padding, rows share these indices; positions a row does not learn are
    masked again by its own labels."""
    return (labels[:, 1:] != -100).any(dim=0).nonzero().squeeze(-1)


def completion_loss(model: Any, batch: dict[str, Any], num_items: Any = None) -> tuple[Any, Any]:
    """(loss, learnt tokens). The loss is the sum of the token losses over `num_items`
    (the learnt tokens of the whole accumulated batch, as `Trainer` passes it) or, without
    it, their mean: equal to the model's own full-sequence loss with the prompt masked."""
    import torch.nn.functional as F

    labels = batch["labels"]
    keep = kept_positions(labels)
    out = model(
        input_ids=batch["input_ids"],
        attention_mask=batch["attention_mask"],
        logits_to_keep=keep,
        use_cache=False,
    )
    logits = out.logits  # (batch, len(keep), vocab)
    if logits.size(1) != keep.numel():
        # Unsloth's fast forward for Llama-style models (Llama, Mistral, Qwen) ignores a
        # tensor `logits_to_keep` and returns every position (seen on an H200); Gemma 3's
        # honours it. Pick the kept positions here, so both train the same loss.
        logits = logits[:, keep]
    targets = labels[:, keep + 1]
    total = F.cross_entropy(
        logits.float().reshape(-1, logits.size(-1)),
        targets.reshape(-1),
        ignore_index=-100,
        reduction="sum",
    )
    n = (targets != -100).sum()
    denom = num_items if num_items is not None else n.clamp(min=1)
    return total / denom, n
