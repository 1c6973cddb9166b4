"""A real PostgreSQL (Debian's server binaries) in a temporary folder, on a loopback
port, for the shared-state tests. `stop()` and `start()` simulate an outage; the data
and the port survive it.

As root, `initdb` refuses to run: the server then runs as the `postgres` user that
Debian's package creates (via runuser), in a folder that user owns.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

_DBS = itertools.count(1)


def find_bindir() -> Path | None:
    """The folder holding initdb, pg_ctl and pg_dump: Debian's versioned folder (its
    PATH has only wrappers, if anything), else wherever PATH finds all three."""
    tools = ("initdb", "pg_ctl", "pg_dump")
    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if all((Path(folder) / tool).exists() for tool in tools):
            return Path(folder)
    found = [shutil.which(tool) for tool in tools]
    if all(found):
        folders = {Path(str(f)).resolve().parent for f in found}
        if len(folders) == 1:
            return folders.pop()
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PostgresServer:
    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.port = free_port()
        self.as_user: list[str] = []
        self.root = Path(tempfile.mkdtemp(prefix="teamkb-pg-"))
        if os.geteuid() == 0:
            pwd.getpwnam("postgres")  # KeyError: no user to run the server as
            shutil.chown(self.root, "postgres")
            self.as_user = ["runuser", "-u", "postgres", "--"]
        self.data = self.root / "data"
        self._run("initdb", "-D", str(self.data), "-U", "teamkb", "--auth=trust",
                  "-E", "UTF8", "--no-sync", "--no-instructions")  # fmt: skip

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run(
            [*self.as_user, str(self.bindir / tool), *args],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip

    def start(self) -> None:
        # -F: no fsync (test data); the socket folder is ours, not /var/run/postgresql.
        opts = f"-h 127.0.0.1 -p {self.port} -k {self.root} -F"
        self._run("pg_ctl", "-D", str(self.data), "-o", opts,
                  "-l", str(self.root / "log"), "-w", "-t", "30", "start")  # fmt: skip

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://teamkb@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """A fresh, empty database: each test gets its own tables."""
        import psycopg

        name = f"t{next(_DBS)}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def close(self) -> None:
        try:
            self.stop()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
