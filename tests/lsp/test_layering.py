"""`lsp` sits below the CLI: it may use `engine` and `knowledge`, never `teamkb`, `bot`
or `finetune` (which would make the language server drag in the CLI and its siblings)."""

from __future__ import annotations

import ast
from pathlib import Path

import lsp

FORBIDDEN = {"teamkb", "bot", "finetune"}


def _imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_lsp_imports_no_higher_layer():
    root = Path(lsp.__file__).parent
    bad = {str(p.relative_to(root)): _imported(p) & FORBIDDEN for p in root.rglob("*.py")}
    assert {k: v for k, v in bad.items() if v} == {}
