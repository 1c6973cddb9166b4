"""`[finetune]` settings: pydantic parses TOML values, errors name the key."""

from __future__ import annotations

from dataclasses import replace

import pytest

from engine.errors import ConfigError
from finetune.config import FinetuneConfig


def test_values_are_parsed_as_before():
    cfg = FinetuneConfig.from_section(
        {
            "steps": "30",
            "learning_rate": "1e-3",
            "load_in_4bit": "true",
            "target_modules": ["q_proj", " ", "o_proj "],
            "collection": 2024,
        }
    )
    assert cfg.steps == 30 and cfg.learning_rate == 1e-3 and cfg.load_in_4bit
    assert cfg.target_modules == ("q_proj", "o_proj") and cfg.collection == "2024"
    assert FinetuneConfig.from_section({}) == FinetuneConfig()
    assert cfg.to_json()["target_modules"] == ["q_proj", "o_proj"]
    assert replace(cfg, rank=2).rank == 2 == cfg.replace(rank=2).rank


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"rank": 0}, "[finetune] rank = 0: Input should be greater than or equal to 1"),
        ({"batch_size": -1}, "[finetune] batch_size = -1"),
        ({"holdout_fraction": 1.0}, "[finetune] holdout_fraction = 1.0"),
        ({"dropout": "lots"}, "[finetune] dropout = 'lots'"),
    ],
)
def test_bad_values_raise_config_error_naming_the_key(section, message):
    with pytest.raises(ConfigError) as exc:
        FinetuneConfig.from_section(section)
    assert message in str(exc.value)
