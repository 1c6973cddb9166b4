"""Shipped adapters, oldest first, and moving the service back to an earlier one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from engine import AdapterPointer, TeamkbError, adapters_dir, read_current, write_current


class AdapterHistoryError(TeamkbError):
    """Nothing to roll back to, or no such adapter."""


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
