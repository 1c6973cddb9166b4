"""The deployment files (deploy/) name only commands the tests run: each ExecStart is a
`teamkb` command line that the CLI's parser accepts, and docs/deployment.md shows these
files."""

from __future__ import annotations

import configparser
import shlex

import pytest

from teamkb.cli import build_parser
from tests.conftest import ROOT

UNITS = sorted((ROOT / "deploy" / "systemd").glob("*.service"))
# The command lines the tests run (tests/bot/test_replicas.py, test_socket_mode.py).
TESTED = {
    "teamkb-slack-http.service": ["serve", "slack", "--http", "--host", "127.0.0.1",
                                  "--port", "3000"],
    "teamkb-slack-socket.service": ["serve", "slack", "--socket"],
    "teamkb-retrain.service": ["retrain"],
}  # fmt: skip


def unit(path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(path.read_text(encoding="utf-8"))
    return parser


@pytest.mark.parametrize("path", UNITS, ids=lambda p: p.name)
def test_each_unit_runs_a_tested_teamkb_command(path):
    argv = shlex.split(unit(path)["Service"]["ExecStart"])
    assert argv[0] == "/srv/teamkb/.venv/bin/teamkb"
    assert argv[1:] == TESTED[path.name]
    build_parser().parse_args(argv[1:])  # exits on an unknown option


def test_the_timer_starts_the_retrain_service_and_the_docs_show_the_files():
    timer = unit(ROOT / "deploy" / "systemd" / "teamkb-retrain.timer")
    assert timer["Timer"]["OnCalendar"] == "*-*-* 03:00:00"
    manual = (ROOT / "docs" / "deployment.md").read_text(encoding="utf-8")
    for path in [*UNITS, ROOT / "deploy" / "systemd" / "teamkb-retrain.timer"]:
        assert f"deploy/systemd/{path.name}" in manual
