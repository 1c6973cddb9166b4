"""One PostgreSQL connection for the shared state stores (psycopg 3).

Why psycopg and not SQLAlchemy: the stores run a dozen fixed statements; SQLite keeps
the standard library's sqlite3, so a SQL toolkit would abstract over one database only.
psycopg 3 gives the one thing needed, `INSERT … ON CONFLICT DO NOTHING` with its row
count, directly.

A lost connection (server restarted, network gone) becomes `StateUnavailable`; the next
call connects again. At start an unreachable server is a ConfigError naming `state_url`.
"""

from __future__ import annotations

import logging
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from state.errors import ConfigError, StateUnavailable

log = logging.getLogger(__name__)
CONNECT_TIMEOUT_S = 5


def redact(url: str) -> str:
    """The URL without its password: what logs and messages may show."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def _reason(exc: BaseException) -> str:
    # psycopg's message names host and port, never the password; first line only.
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


class Postgres:
    """Serialises this process's calls on one connection; each `transaction()` commits
    on success and rolls back on error."""

    def __init__(self, url: str, *, schema: str) -> None:
        import psycopg  # only replicas with state_url need it

        self._psycopg = psycopg
        self._url = url
        self.where = redact(url)
        self._lock = threading.Lock()
        self._conn: Any = None
        try:
            with self.transaction() as cur:
                # Two replicas starting at once must not both create the tables.
                cur.execute("SELECT pg_advisory_xact_lock(%s)", (zlib.crc32(schema.encode()),))
                cur.execute(schema)
        except StateUnavailable as exc:
            raise ConfigError(
                f"state_url: cannot reach PostgreSQL at {self.where}: {exc}. Start it, or "
                "fix state_url (teamkb.toml or TEAMKB_STATE_URL)."
            ) from None

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        errors = (self._psycopg.OperationalError, self._psycopg.InterfaceError)
        with self._lock:
            try:
                conn = self._connection()
                with conn.transaction(), conn.cursor() as cur:
                    yield cur
            except errors as exc:
                self._drop()
                raise StateUnavailable(_reason(exc)) from exc

    def _connection(self) -> Any:
        if self._conn is None or self._conn.closed:
            self._conn = self._psycopg.connect(
                self._url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S,
                application_name="teamkb",
            )  # fmt: skip
        return self._conn

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:  # already broken; nothing more to release
                log.debug("closing a broken connection failed", exc_info=True)

    def close(self) -> None:
        with self._lock:
            self._drop()
