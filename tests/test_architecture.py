"""The package layering, checked from every import statement in the product (function-level
ones included): teamkb → bot, lsp, finetune → engine → knowledge and state, never back."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import ROOT

LAYER = {"knowledge": 0, "state": 0, "engine": 1, "bot": 2, "lsp": 2, "finetune": 2, "teamkb": 3}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
    return found


def imported_packages(path: Path) -> set[str]:
    return {name.split(".")[0] for name in imported_modules(path)} & set(LAYER)


def layering_violations() -> list[str]:
    bad = []
    for package, rank in LAYER.items():
        for path in sorted((ROOT / package).rglob("*.py")):
            for other in sorted(imported_packages(path) - {package}):
                # Only downwards; the three front ends never import one another.
                if LAYER[other] >= rank:
                    bad.append(f"{path.relative_to(ROOT)} imports {other}")
    return bad


def test_dependencies_point_one_way() -> None:
    assert layering_violations() == []


def test_state_is_used_through_its_package_only() -> None:
    """`from state import …`: its modules are its own business."""
    reaching_in = [
        f"{path.relative_to(ROOT)} imports {name}"
        for package in set(LAYER) - {"state"}
        for path in sorted((ROOT / package).rglob("*.py"))
        for name in sorted(imported_modules(path))
        if name.startswith("state.")
    ]
    assert reaching_in == []


FRONT_ENDS = ("bot", "lsp", "finetune", "teamkb")


SEALED_ENGINE = {"engine", "engine.evaluation"}


def sealed_api_violations(paths: list[Path]) -> list[str]:
    """Front ends use the engine through `engine` (and `engine.evaluation`, the measure
    they report and gate on, through the package alone, never its modules), storage
    through `state`, and never `knowledge` itself: the engine decides what of the
    knowledge layer is theirs to see."""
    bad = []
    for path in paths:
        for name in sorted(imported_modules(path)):
            package = name.split(".")[0]
            internal = package == "engine" and name not in SEALED_ENGINE
            if package == "knowledge" or internal:
                bad.append(f"{path} imports {name}")
    return bad


def test_front_ends_use_the_sealed_engine_api() -> None:
    paths = [p for package in FRONT_ENDS for p in sorted((ROOT / package).rglob("*.py"))]
    assert len(paths) > 40
    assert sealed_api_violations(paths) == []


def test_the_sealed_api_check_sees_internals(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text(
        "from engine import Settings\nfrom engine.evaluation import Question\n"
        "import engine.evaluation\nfrom engine.evaluation.answers import Question\n"
        "def f():\n    from engine.settings import Settings\n    import knowledge.text\n"
    )
    found = [v.split(" imports ")[1] for v in sealed_api_violations([module])]
    assert found == ["engine.evaluation.answers", "engine.settings", "knowledge.text"]


def test_the_check_sees_function_level_imports(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from teamkb.render import dumps\n    import lsp.server\n")
    assert imported_packages(module) == {"teamkb", "lsp"}


def test_every_name_the_engine_exports_resolves() -> None:
    """The front ends' two doors: the engine's public names are its lazy table's, each
    listed once, and every name either package exports resolves."""
    import engine
    import engine.evaluation

    # The table `__getattr__` reads; its keys are unique, so no name is listed twice.
    assert sorted(engine.__all__) == sorted(engine._HOMES)
    for name in engine.__all__:
        assert hasattr(engine, name), f"engine.{name} does not resolve"
    assert len(set(engine.evaluation.__all__)) == len(engine.evaluation.__all__)
    for name in engine.evaluation.__all__:
        assert hasattr(engine.evaluation, name), f"engine.evaluation.{name} does not resolve"
