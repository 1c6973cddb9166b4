"""The real `teamkb serve slack` as a subprocess: its teamkb.toml, environment and
lifetime, for the Socket Mode and the replica tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.conftest import ROOT, URL

TOKENS = {"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_APP_TOKEN": "xapp-1-test",
          "SLACK_SIGNING_SECRET": "test-signing-secret"}  # fmt: skip


def write_config(
    folder: Path,
    *,
    home: Path,
    ollama_url: str,
    extra: str = "",
    docs: Path = ROOT / "examples" / "handbook",
) -> Path:
    """teamkb.toml: the handbook, answers from the stand-in Ollama, no answer cache (each
    process would have its own)."""
    folder.mkdir(parents=True, exist_ok=True)
    toml = folder / "teamkb.toml"
    toml.write_text(
        f'home = "{home}"\nanswer_cache = false\n{extra}\n'
        f'[collections.handbook]\npaths = ["{docs}"]\nurl = "{URL}"\n'
        f'[generator]\nbackend = "ollama"\nollama_host = "{ollama_url}"\n'
        "use_adapter = false\ntimeout_s = 10\n",
        encoding="utf-8",
    )
    return toml


class BotProcess:
    def __init__(self, toml: Path, *args: str, api_url: str, env: dict[str, str] | None = None,
                 log: Path) -> None:  # fmt: skip
        self.log = log
        self._log_file = log.open("wb")
        full_env = {**os.environ, **TOKENS, "SLACK_API_URL": api_url,
                    "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", **(env or {})}  # fmt: skip
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "teamkb", "-v", "--config", str(toml), "serve", "slack", *args],
            cwd=toml.parent, env=full_env, stdout=self._log_file, stderr=subprocess.STDOUT,
        )  # fmt: skip

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def wait_healthy(self, port: int, timeout: float = 120) -> None:
        """Until GET /health answers 200 (the HTTP server is up and ready)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError):
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"bot did not become healthy:\n{self.output()}")
            time.sleep(0.1)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._log_file.close()
        return int(self.proc.returncode)
