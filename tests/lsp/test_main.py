"""`teamkb serve lsp`'s transport options reach pygls' own CLI helper: stdio by default."""

from __future__ import annotations

from typing import Any

import pytest

from lsp import main
from teamkb.cli import build_parser


class StubServer:
    def __init__(self) -> None:
        self.started: list[tuple[Any, ...]] = []

    def start_io(self) -> None:
        self.started.append(("io",))

    def start_tcp(self, host: str, port: int) -> None:
        self.started.append(("tcp", host, port))

    def start_ws(self, host: str, port: int) -> None:
        self.started.append(("ws", host, port))


@pytest.mark.parametrize(
    ("argv", "started"),
    [
        ([], ("io",)),
        (["--tcp"], ("tcp", "127.0.0.1", 2087)),
        (["--tcp", "--host", "0.0.0.0", "--port", "9000"], ("tcp", "0.0.0.0", 9000)),
        # Without --tcp the address options change nothing: stdio stays the default.
        (["--port", "9000"], ("io",)),
    ],
)
def test_transport(monkeypatch: pytest.MonkeyPatch, argv: list[str], started: tuple[Any, ...]):
    server = StubServer()
    monkeypatch.setattr(main, "create_server", lambda settings: server)
    monkeypatch.setattr(main, "setup_logging", lambda: None)
    monkeypatch.setattr(main, "log_to_client", lambda server: None)
    args = build_parser().parse_args(["serve", "lsp", *argv])
    assert main.run(args, settings=None) == 0  # type: ignore[arg-type]
    assert server.started == [started]


def test_bad_port_is_a_usage_error(capsys: pytest.CaptureFixture[str]):
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args(["serve", "lsp", "--tcp", "--port", "x"])
    assert exc.value.code == 2 and "--port" in capsys.readouterr().err
