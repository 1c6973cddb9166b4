"""The base model a run trains on (an HF folder) and serves with (a GGUF)."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

from engine import Settings
from finetune.config import FinetuneConfig
from finetune.paths import finetune_dir

log = logging.getLogger(__name__)


def prepare_base(settings: Settings, cfg: FinetuneConfig) -> tuple[Path, Path]:
    """(HF folder to train on, GGUF llama.cpp serves). A GGUF base is converted to an HF
    folder once and cached, since loading it through transformers takes a while."""
    from engine import packaged_model

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
    import warnings
    from functools import partial

    import transformers.modeling_gguf_pytorch_utils as gguf_utils
    from transformers.utils import logging as hf_logging

    log.info("converting %s to an HF folder (once, about a minute)", src.name)
    # its de-quantisation progress bar (plain tqdm) and deprecation notices are noise in
    # a nightly log
    hf_logging.disable_progress_bar()
    bar = gguf_utils.tqdm
    gguf_utils.tqdm = partial(bar, disable=True)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return _convert(src, out)
    finally:
        gguf_utils.tqdm = bar


def _convert(src: Path, out: Path) -> Path:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

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
