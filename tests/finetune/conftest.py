from __future__ import annotations

import pytest

from tests.conftest import HANDBOOK
from tests.fakes.tiny import TinyModel, make_tiny_model


@pytest.fixture(scope="session")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> TinyModel:
    """A tiny random Llama with a tokenizer trained on the handbook (seconds to build)."""
    lines = [
        line
        for p in sorted(HANDBOOK.rglob("*.*"))
        for line in p.read_text(errors="ignore").splitlines()
        if line.strip()
    ]
    return make_tiny_model(lines, tmp_path_factory.mktemp("tiny"))
