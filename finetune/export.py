"""A peft LoRA as a GGUF LoRA adapter for llama.cpp, and an Ollama Modelfile for it.

Follows llama.cpp's convert_lora_to_gguf.py: general.type=adapter, adapter.type=lora,
adapter.lora.alpha; one `<base tensor>.lora_a` / `.lora_b` pair per adapted weight.
torch's lora_A is (r, in) and lora_B (out, r); GGUF lists dimensions in reverse, so
written as they are they arrive as ggml's a=[in, r], b=[r, out], which is what
llama.cpp multiplies. For the Llama architecture the base q/k rows were permuted at
conversion (rope layout), so lora_B's rows get the same permutation.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from engine import TeamkbError

log = logging.getLogger(__name__)

# peft's key for one LoRA matrix: "base_model.model.<HF weight name>.lora_A.weight".
_KEY = re.compile(r"^(?:base_model\.model\.)?(.+)\.lora_([AB])\.weight$")


class ExportError(TeamkbError):
    """The adapter could not be converted for the serving base model."""


@dataclass(frozen=True)
class BaseInfo:
    arch: str
    tensors: frozenset[str]
    n_head: int
    n_head_kv: int
    n_blocks: int = 0


def _field(reader: Any, key: str) -> Any:
    f = reader.fields.get(key)
    return None if f is None else f.contents()


def base_info(base_gguf: Path) -> BaseInfo:
    from gguf import GGUFReader

    r = GGUFReader(str(base_gguf))
    arch = str(_field(r, "general.architecture"))
    heads = _field(r, f"{arch}.attention.head_count") or 0
    kv = _field(r, f"{arch}.attention.head_count_kv") or heads
    heads = int(heads[0] if isinstance(heads, list) else heads)
    kv = int(kv[0] if isinstance(kv, list) else kv)
    blocks = int(_field(r, f"{arch}.block_count") or 0)
    return BaseInfo(arch, frozenset(t.name for t in r.tensors), heads, kv, blocks)


def tensor_names(arch: str, n_blocks: int) -> Any:
    """gguf's HF → llama.cpp tensor-name map for an architecture (as the GGUF names it)."""
    import gguf

    by_name = {v: k for k, v in gguf.MODEL_ARCH_NAMES.items()}
    if arch not in by_name:
        raise ExportError(f"The base GGUF's architecture {arch!r} is unknown to gguf.")
    return gguf.get_tensor_name_map(by_name[arch], n_blocks)


def permute_qk(w: np.ndarray, n_head: int) -> np.ndarray:
    """HF Llama stores q/k rows in rotate-half order; llama.cpp's Llama rope wants them
    interleaved (the same permute convert_hf_to_gguf applies)."""
    return (
        w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:])
        .swapaxes(1, 2)
        .reshape(w.shape)
    )


def lora_to_gguf(adapter_dir: Path, base_gguf: Path, out: Path) -> Path:
    from gguf import GGUFWriter
    from safetensors.numpy import load_file

    conf = json.loads((adapter_dir / "adapter_config.json").read_text())
    weights = load_file(str(adapter_dir / "adapter_model.safetensors"))
    info = base_info(base_gguf)
    names = tensor_names(info.arch, info.n_blocks)
    pairs: dict[str, dict[str, np.ndarray]] = {}
    for key, value in weights.items():
        m = _KEY.search(key)
        name = names.get_name(f"{m[1]}.weight", try_suffixes=(".weight", ".bias")) if m else None
        if m is None or name is None:
            raise ExportError(f"Cannot map adapter tensor {key} to a llama.cpp tensor.")
        pairs.setdefault(name, {})[m.group(2)] = value.astype(np.float32)
    missing = sorted(set(pairs) - info.tensors)
    if missing:
        raise ExportError(
            f"The base GGUF has no tensor(s) {', '.join(missing[:3])}: the "
            f"adapter was trained on another model."
        )
    tmp = out.with_suffix(".partial")
    w = GGUFWriter(str(tmp), info.arch)
    w.add_string("general.type", "adapter")
    w.add_string("adapter.type", "lora")
    w.add_float32("adapter.lora.alpha", float(conf["lora_alpha"]))
    for name in sorted(pairs):
        a, b = pairs[name]["A"], pairs[name]["B"]
        if info.arch == "llama" and ".attn_q." in name:
            b = permute_qk(b, info.n_head)
        elif info.arch == "llama" and ".attn_k." in name:
            b = permute_qk(b, info.n_head_kv)
        w.add_tensor(f"{name}.lora_a", np.ascontiguousarray(a))
        w.add_tensor(f"{name}.lora_b", np.ascontiguousarray(b))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    tmp.replace(out)
    return out


def write_modelfile(path: Path, ollama_base: str, adapter_gguf: Path) -> Path:
    path.write_text(f"FROM {ollama_base}\nADAPTER {adapter_gguf}\n", "utf-8")
    return path


def ollama_register(modelfile: Path, tag: str) -> tuple[bool, str]:
    """Run `ollama create` when the binary exists; otherwise say how to."""
    exe = shutil.which("ollama")
    howto = f"ollama create {tag} -f {modelfile}"
    if not exe:
        return False, f"ollama not installed here; register the adapter with: {howto}"
    try:
        subprocess.run(
            [exe, "create", tag, "-f", str(modelfile)], check=True, capture_output=True, timeout=600
        )
    except (subprocess.SubprocessError, OSError) as exc:
        return False, f"`{howto}` failed ({exc}); run it by hand."
    return True, f"registered with Ollama as {tag}"
