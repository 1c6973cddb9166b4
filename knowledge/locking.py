"""One writer per collection: a file lock held for a whole sync (and for a drop).

Two syncs of one collection that overlap would each plan from their own snapshot and
both insert the same new chunks: LanceDB resolves concurrent `merge_insert`s by keeping
both, so the table would hold every new chunk twice. Under the lock the second run
waits, then plans from what the first one published and finds it all unchanged.

For a local index the lock file sits beside the table (`kb_NAME.lock` in the index
folder), so every process on the machine that writes the index shares it. An
object-store index (s3://, gs://, az://) has no shared file system: the lock then lives
in this machine's temp folder and only keeps runs on this machine apart. Run one
scheduled `teamkb index` per collection against object storage.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from knowledge.errors import CollectionBusy

log = logging.getLogger(__name__)

TABLE_PREFIX = "kb_"  # the store's table prefix: the lock is named like the table
NOTICE_AFTER_S = 2.0


def lock_path(uri: str, name: str) -> Path:
    """Where the lock file of collection `name` in the index at `uri` lives."""
    if uri.startswith("file://"):
        uri = uri[len("file://") :]
    if "://" not in uri:
        return Path(uri) / f"{TABLE_PREFIX}{name}.lock"
    key = hashlib.sha1(uri.encode("utf-8")).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / "teamkb-locks" / f"{key}-{name}.lock"


@contextmanager
def collection_lock(uri: str, name: str, *, timeout: float | None = None) -> Iterator[None]:
    """Hold the collection's write lock. Waits for another holder (saying so after
    `NOTICE_AFTER_S`), forever when `timeout` is None, else raises CollectionBusy."""
    path = lock_path(uri, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    if "://" in uri and not uri.startswith("file://"):
        log.info("index on object storage: the lock only excludes runs on this machine")
    # A new FileLock per call, never shared: two syncs in one process must also exclude
    # each other (flock locks per open file, so two FileLocks on one path conflict).
    lock = FileLock(path)
    first_wait = NOTICE_AFTER_S if timeout is None else min(timeout, NOTICE_AFTER_S)
    try:
        lock.acquire(timeout=first_wait)
    except Timeout:
        if timeout is not None and timeout <= NOTICE_AFTER_S:
            raise CollectionBusy(name, path) from None
        log.warning(
            "Another index run on collection '%s' is in progress; waiting for it to "
            "finish (lock %s). Ctrl-C to give up.",
            name,
            path,
        )
        try:
            lock.acquire(timeout=-1 if timeout is None else timeout - NOTICE_AFTER_S)
        except Timeout:
            raise CollectionBusy(name, path) from None
    try:
        yield
    finally:
        lock.release()
