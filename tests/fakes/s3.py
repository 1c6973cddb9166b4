"""moto's server mode on a loopback port: a stand-in for S3 (and only S3) that LanceDB
reaches through the standard AWS variables."""

from __future__ import annotations

import itertools
import subprocess
import sys
import time
import urllib.error
import urllib.request

from tests.fakes.postgres import free_port

_BUCKETS = itertools.count(1)
ACCESS_KEY = "AKIATEAMKBTEST"
SECRET_KEY = "teamkb-test-secret-do-not-print"


class MotoServer:
    def __init__(self, *, check_credentials: bool = False) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {"PATH": "/usr/bin:/bin", "MOTO_CALL_RESET_API": "false"}
        if check_credentials:
            # moto checks access keys only after this many unchecked calls: 1 lets the
            # test make its bucket, then every request must carry a key moto knows.
            env["INITIAL_NO_AUTH_ACTION_COUNT"] = "1"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        self._wait_ready(timeout=30)

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                urllib.request.urlopen(self.url + "/moto-api/", timeout=1).close()
                return
            except (urllib.error.URLError, ConnectionError):
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("moto server did not start") from None
                time.sleep(0.1)

    def new_bucket(self) -> str:
        name = f"kb{next(_BUCKETS)}"
        req = urllib.request.Request(f"{self.url}/{name}", method="PUT")
        urllib.request.urlopen(req, timeout=10).close()
        return name

    def env(self, **changes: str) -> dict[str, str]:
        """The AWS variables a teamkb process needs to reach this server."""
        return {
            "AWS_ENDPOINT_URL": self.url, "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY, "AWS_REGION": "us-east-1",
            "AWS_ALLOW_HTTP": "true", **changes,
        }  # fmt: skip

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
