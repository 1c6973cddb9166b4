"""`teamkb retrain` and `teamkb adapter` as registered by `teamkb.commands.retrain`."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from teamkb.cli import build_parser, main


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch) -> Path:
    (tmp_path / "teamkb.toml").write_text(
        'home = "data"\n[generator]\nbackend = "none"\n[finetune]\nrank = 4\n'
    )
    monkeypatch.chdir(tmp_path)
    for key in [k for k in os.environ if k.startswith("TEAMKB_")]:
        monkeypatch.delenv(key)
    return tmp_path


def test_retrain_and_adapter_are_registered():
    args = build_parser().parse_args(["retrain", "--config", "x.toml", "--dry-run", "--json"])
    assert args.finetune_config == Path("x.toml") and args.dry_run and args.json
    assert build_parser().parse_args(["adapter", "rollback", "--to", "n"]).to == "n"


def test_adapter_list_and_rollback_with_nothing_shipped(workdir, capsys):
    assert main(["adapter", "list"]) == 0
    assert capsys.readouterr().out == "no adapter shipped yet\n"
    assert main(["adapter", "list", "--json"]) == 0
    assert capsys.readouterr().out.strip() == "[]"
    assert main(["adapter", "rollback"]) == 1
    assert "nothing to roll back" in capsys.readouterr().err


def test_retrain_config_errors_name_the_key(workdir, capsys):
    bad = workdir / "ft.toml"
    bad.write_text("[finetune]\nsteps = 0\n")
    assert main(["retrain", "--config", str(bad)]) == 1
    assert "[finetune] steps = 0" in capsys.readouterr().err
