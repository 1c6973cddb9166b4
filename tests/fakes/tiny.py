"""A tiny Llama (random weights, a SentencePiece tokenizer trained on the docs) as an HF
folder plus a base GGUF that llama.cpp loads: the whole retraining pipeline runs on it
in seconds, which is what tests and smoke runs need. Not a useful model."""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from finetune.export import permute_qk

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TinyModel:
    hf_dir: Path
    gguf: Path


def train_tokenizer(texts: Sequence[str], out_dir: Path, vocab_size: int = 400) -> Path:
    import sentencepiece as spm

    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter([t for t in texts if t.strip()]),
        model_writer=buf,
        vocab_size=vocab_size,
        model_type="bpe",
        byte_fallback=True,
        character_coverage=1.0,
        bos_id=1,
        eos_id=2,
        unk_id=0,
        pad_id=-1,
        hard_vocab_limit=False,
        minloglevel=2,
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "tokenizer.model"
    path.write_bytes(buf.getvalue())
    return path


def make_tiny_model(
    texts: Sequence[str],
    out_dir: Path,
    *,
    hidden: int = 64,
    layers: int = 2,
    heads: int = 4,
    kv_heads: int = 2,
    seed: int = 0,
) -> TinyModel:
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM, LlamaTokenizer

    hf_dir = out_dir / "hf"
    spm_path = train_tokenizer(texts, hf_dir)
    tok = LlamaTokenizer.from_pretrained(str(hf_dir))  # converts the .model it finds
    tok.save_pretrained(hf_dir)
    import sentencepiece as spm

    sp = spm.SentencePieceProcessor(model_file=str(spm_path))
    torch.manual_seed(seed)
    config = LlamaConfig(  # type: ignore[call-arg]  # rope_theta is a **kwarg in v5
        vocab_size=sp.get_piece_size(),
        hidden_size=hidden,
        intermediate_size=hidden * 2,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=kv_heads,
        max_position_embeddings=4096,
        rms_norm_eps=1e-5,
        rope_theta=10000.0,
        tie_word_embeddings=False,
        bos_token_id=1,
        eos_token_id=2,
    )
    model = LlamaForCausalLM(config)
    model.save_pretrained(hf_dir)
    gguf_path = out_dir / "tiny-llama-f32.gguf"
    write_llama_gguf(model, sp, gguf_path)
    return TinyModel(hf_dir, gguf_path)


def write_llama_gguf(model: object, sp: object, path: Path) -> Path:
    """Write an HF LlamaForCausalLM (fp32) and its SentencePiece model as a GGUF."""
    import gguf

    cfg = model.config  # type: ignore[attr-defined]
    n_head, n_kv = cfg.num_attention_heads, cfg.num_key_value_heads
    w = gguf.GGUFWriter(str(path), "llama")
    w.add_name("tiny-llama")
    w.add_context_length(cfg.max_position_embeddings)
    w.add_embedding_length(cfg.hidden_size)
    w.add_block_count(cfg.num_hidden_layers)
    w.add_feed_forward_length(cfg.intermediate_size)
    w.add_head_count(n_head)
    w.add_head_count_kv(n_kv)
    w.add_rope_dimension_count(cfg.hidden_size // n_head)
    w.add_rope_freq_base(float(getattr(cfg, "rope_theta", 10000.0) or 10000.0))
    w.add_layer_norm_rms_eps(cfg.rms_norm_eps)
    w.add_vocab_size(cfg.vocab_size)
    w.add_file_type(gguf.LlamaFileType.ALL_F32)
    tokens, scores, types = [], [], []
    for i in range(sp.get_piece_size()):  # type: ignore[attr-defined]
        tokens.append(sp.id_to_piece(i).encode("utf-8"))  # type: ignore[attr-defined]
        scores.append(sp.get_score(i))  # type: ignore[attr-defined]
        if sp.is_unknown(i):  # type: ignore[attr-defined]
            t = gguf.TokenType.UNKNOWN
        elif sp.is_control(i):  # type: ignore[attr-defined]
            t = gguf.TokenType.CONTROL
        elif sp.is_byte(i):  # type: ignore[attr-defined]
            t = gguf.TokenType.BYTE
        elif sp.is_unused(i):  # type: ignore[attr-defined]
            t = gguf.TokenType.UNUSED
        else:
            t = gguf.TokenType.NORMAL
        types.append(int(t))
    w.add_tokenizer_model("llama")
    w.add_tokenizer_pre("default")
    w.add_token_list(tokens)
    w.add_token_scores(scores)
    w.add_token_types(types)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_unk_token_id(0)
    w.add_add_bos_token(True)
    w.add_add_eos_token(False)
    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.LLAMA, cfg.num_hidden_layers)
    for name, tensor in model.state_dict().items():  # type: ignore[attr-defined]
        data = tensor.detach().float().numpy().copy()
        gguf_name = names.get_name(name, try_suffixes=(".weight", ".bias"))
        if gguf_name is None:
            raise ValueError(f"No GGUF name for the Llama tensor {name}.")
        w.add_tensor(gguf_name, _to_gguf(name, data, n_head, n_kv))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path


def _to_gguf(name: str, data: np.ndarray, n_head: int, n_kv: int) -> np.ndarray:
    if name.endswith("q_proj.weight"):
        return permute_qk(data, n_head)
    if name.endswith("k_proj.weight"):
        return permute_qk(data, n_kv)
    return data


def make_tiny_gemma3(tiny_hf: Path, out_dir: Path, *, seed: int = 0) -> Path:
    """A tiny random Gemma 3 text model (what `gguf_to_hf` makes of the packaged Gemma 3
    270M: tied embeddings, one KV head, five sliding-window layers and a full one) with
    the tiny Llama's tokenizer. Unsloth takes another path for Gemma 3 than for Llama."""
    import json
    import shutil

    import torch
    from transformers import Gemma3ForCausalLM, Gemma3TextConfig

    out_dir.mkdir(parents=True, exist_ok=True)
    for f in tiny_hf.iterdir():
        if "token" in f.name or f.name.endswith(".model"):
            shutil.copy(f, out_dir / f.name)
    vocab = json.loads((tiny_hf / "config.json").read_text())["vocab_size"]
    torch.manual_seed(seed)
    config = Gemma3TextConfig(
        vocab_size=vocab, hidden_size=64, intermediate_size=128, num_hidden_layers=6,
        num_attention_heads=4, num_key_value_heads=1, head_dim=16, query_pre_attn_scalar=16,
        sliding_window=512, max_position_embeddings=4096, tie_word_embeddings=True,
        bos_token_id=1, eos_token_id=2, pad_token_id=0,
    )  # fmt: skip
    Gemma3ForCausalLM(config).save_pretrained(out_dir)
    return out_dir
