"""Settings: teamkb.toml < TEAMKB_* variables, checked by pydantic with errors that name
where the bad value came from."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.errors import ConfigError
from teamkb.config import load_settings


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "teamkb.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_values_are_coerced_and_the_environment_wins(tmp_path: Path) -> None:
    cfg = write(tmp_path, 'home = "data"\n[retrieval]\nk = 4\nmode = "fts"\n')
    s = load_settings(cfg, env={"TEAMKB_RETRIEVAL_K": "9", "TEAMKB_ANSWER_CACHE": "off"})
    assert (s.retrieval.k, s.retrieval.mode, s.answer_cache) == (9, "fts", False)
    assert s.home == (tmp_path / "data").resolve()


def test_a_misspelt_key_is_named(tmp_path: Path) -> None:
    cfg = write(tmp_path, "[retrieval]\nkk = 4\n")
    with pytest.raises(ConfigError, match=r"Unknown setting \[retrieval\] kk \(known: mode, k,"):
        load_settings(cfg, env={})


def test_a_bad_choice_lists_the_good_ones(tmp_path: Path) -> None:
    cfg = write(tmp_path, '[generator]\nbackend = "gpt"\n')
    with pytest.raises(ConfigError) as err:
        load_settings(cfg, env={})
    assert str(err.value) == (
        "[generator] backend='gpt': Input should be 'llamacpp', 'ollama' or 'none'"
    )
