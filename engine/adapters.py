"""The 'adapter in service' pointer that nightly retraining moves and generators read.

The file format lives here so `finetune` (the writer) depends on `engine`, not the
other way round.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass
from pathlib import Path

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AdapterPointer:
    name: str  # e.g. "2026-11-21T0300"
    gguf: str = ""  # GGUF LoRA for llama.cpp, absolute path
    ollama_model: str = ""  # Ollama tag serving base + adapter
    base_model: str = ""


def adapters_dir(home: Path) -> Path:
    return home / "adapters"


def pointer_path(home: Path) -> Path:
    return adapters_dir(home) / "current.json"


def read_current(home: Path) -> AdapterPointer | None:
    path = pointer_path(home)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        log.warning("ignoring unreadable adapter pointer %s: %s", path, exc)
        return None
    if not data:
        return None
    return AdapterPointer(**{k: data.get(k, "") for k in AdapterPointer.__dataclass_fields__})


def write_current(home: Path, pointer: AdapterPointer | None) -> None:
    """Atomic: a crash leaves either the old pointer or the new one, never half of one."""
    path = pointer_path(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(pointer) if pointer else {}, indent=2))
    os.replace(tmp, path)
