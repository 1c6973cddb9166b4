"""`transformers.Trainer` set up for a nightly LoRA run: micro-batches accumulated to
`batch_size`, the completion-only loss, best-checkpoint selection and early stopping on
validation loss, quiet except for `finetune.progress`'s line."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from transformers import EarlyStoppingCallback, Trainer, TrainerCallback, TrainingArguments
from transformers.trainer_callback import PrinterCallback, ProgressCallback

from finetune.config import FinetuneConfig
from finetune.interrupt import raise_if_requested
from finetune.loss import completion_loss
from finetune.progress import ProgressLine, TokenCount

Row = tuple[list[int], list[int]]  # token ids, labels (-100 where nothing is learnt)


class Rows:
    """The encoded rows as the map-style data set `Trainer` samples from."""

    def __init__(self, rows: Sequence[Row]) -> None:
        self.rows = list(rows)

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> dict[str, list[int]]:
        ids, labels = self.rows[i]
        return {"input_ids": ids, "labels": labels}


def collate(pad: int) -> Any:
    """Right padding: the completion-only loss relies on it (`finetune.loss`)."""
    import torch

    def _collate(batch: Sequence[dict[str, list[int]]]) -> dict[str, Any]:
        width = max(len(b["input_ids"]) for b in batch)
        return {
            "input_ids": torch.tensor(
                [b["input_ids"] + [pad] * (width - len(b["input_ids"])) for b in batch]
            ),
            "labels": torch.tensor(
                [b["labels"] + [-100] * (width - len(b["labels"])) for b in batch]
            ),
            "attention_mask": torch.tensor(
                [[1] * len(b["input_ids"]) + [0] * (width - len(b["input_ids"])) for b in batch]
            ),
        }

    return _collate


class CompletionTrainer(Trainer):
    """`Trainer` with `finetune.loss.completion_loss`; counts training tokens."""

    def __init__(self, *args: Any, counter: TokenCount, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.counter = counter
        # Our loss divides by `num_items_in_batch` (the learnt tokens of the whole
        # accumulated batch), so Trainer must pass it and not divide again.
        self.model_accepts_loss_kwargs = True

    def compute_loss(
        self,
        model: Any,
        inputs: dict[str, Any],
        return_outputs: bool = False,
        num_items_in_batch: Any = None,
    ) -> Any:
        loss, _ = completion_loss(model, inputs, num_items_in_batch)
        if model.training:
            self.counter.tokens += int(inputs["attention_mask"].sum())
        return (loss, {}) if return_outputs else loss


class _StopWhenAsked(TrainerCallback):
    """A SIGTERM whose exception was swallowed mid-step still stops the run here."""

    def on_step_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
        raise_if_requested()


class _EvaluateLast(TrainerCallback):
    """Evaluate (and keep, if best) the final step too, as when `steps` is not a
    multiple of `eval_every`."""

    def on_step_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
        if state.global_step >= state.max_steps and args.eval_strategy != "no":
            control.should_evaluate = control.should_save = True


def training_args(
    cfg: FinetuneConfig, out: Path, has_val: bool, bf16: bool, cpu: bool
) -> TrainingArguments:
    every = "steps" if has_val else "no"
    return TrainingArguments(
        output_dir=str(out),
        max_steps=cfg.steps,
        per_device_train_batch_size=min(cfg.micro_batch_size, cfg.batch_size),
        per_device_eval_batch_size=min(cfg.micro_batch_size, cfg.batch_size),
        gradient_accumulation_steps=cfg.accumulation,
        learning_rate=cfg.learning_rate,
        lr_scheduler_type="cosine",  # linear warm-up over a tenth of the steps, then cosine
        warmup_steps=max(1, cfg.steps // 10),
        weight_decay=0.0,
        max_grad_norm=1.0,
        gradient_checkpointing=cfg.gradient_checkpointing and cpu,  # Unsloth does its own
        gradient_checkpointing_kwargs={"use_reentrant": False},
        bf16=bf16,
        use_cpu=cpu,
        seed=cfg.seed,
        logging_steps=1,
        eval_strategy=every,
        eval_steps=cfg.eval_every,
        save_strategy=every,
        save_steps=cfg.eval_every,
        save_only_model=True,  # optimizer states are never resumed from
        save_total_limit=1,
        load_best_model_at_end=has_val,
        metric_for_best_model="eval_loss",
        greater_is_better=False,
        prediction_loss_only=True,
        label_names=["labels"],
        remove_unused_columns=False,
        report_to="none",
        disable_tqdm=True,
        log_level="error",
        dataloader_num_workers=0,
    )


def make_trainer(
    model: Any,
    cfg: FinetuneConfig,
    data: tuple[Sequence[Row], Sequence[Row]],
    pad: int,
    args: TrainingArguments,
    counter: TokenCount,
) -> CompletionTrainer:
    rows, vrows = data
    callbacks: list[TrainerCallback] = [ProgressLine(counter), _StopWhenAsked()]
    if vrows:
        callbacks += [
            EarlyStoppingCallback(cfg.patience, early_stopping_threshold=cfg.min_delta),
            _EvaluateLast(),
        ]
    trainer = CompletionTrainer(
        model=model,
        args=args,
        train_dataset=Rows(rows),
        eval_dataset=Rows(vrows) if vrows else None,
        data_collator=collate(pad),
        callbacks=callbacks,
        counter=counter,
    )
    for noisy in (PrinterCallback, ProgressCallback):  # our line replaces them
        trainer.remove_callback(noisy)
    return trainer
