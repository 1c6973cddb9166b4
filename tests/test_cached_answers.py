"""`teamkb ask` serves a repeated question from the answer cache, and a changed setting
in teamkb.toml makes the next one a miss: an answer never outlives what shaped it."""

import json
from pathlib import Path

import pytest

from teamkb.cli import main
from tests.conftest import cli_workdir


def _ask(capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    assert main(["ask", "How do I roll back a deploy?", "--json"]) == 0
    answer: dict[str, object] = json.loads(capsys.readouterr().out)
    return answer


def test_a_changed_retrieval_mode_is_a_cache_miss(home_copy: Path, tmp_path: Path,
                                                  fake_ollama, monkeypatch, capsys):  # fmt: skip
    cli_workdir(tmp_path, home_copy, monkeypatch)
    config = tmp_path / "teamkb.toml"
    ollama = f'backend = "ollama"\nollama_host = "{fake_ollama.url}"\nuse_adapter = false\n'
    config.write_text(config.read_text().replace('backend = "none"\n', ollama))

    first = _ask(capsys)
    assert not first["degraded"] and first["cached"] is False
    assert _ask(capsys)["cached"] is True
    config.write_text(config.read_text() + '[retrieval]\nmode = "vector"\n')
    assert _ask(capsys)["cached"] is False
    assert len(fake_ollama.requests) == 2
