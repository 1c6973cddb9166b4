"""The per-collection write lock."""

import logging
import threading

import pytest

from knowledge import locking
from knowledge.errors import CollectionBusy
from knowledge.locking import collection_lock, lock_path


def test_lock_file_sits_beside_a_local_index_and_in_temp_for_object_storage(tmp_path):
    assert lock_path(str(tmp_path), "team") == tmp_path / "kb_team.lock"
    remote = lock_path("s3://bucket/kb", "team")
    assert remote.name.endswith("-team.lock") and "teamkb-locks" in str(remote)


def test_second_holder_waits_with_a_message_then_gets_it(tmp_path, caplog, monkeypatch):
    monkeypatch.setattr(locking, "NOTICE_AFTER_S", 0.2)
    uri = str(tmp_path / "index")
    order: list[str] = []
    holding = threading.Event()

    def first() -> None:
        with collection_lock(uri, "team"):
            holding.set()
            threading.Event().wait(1.0)
            order.append("first done")

    t = threading.Thread(target=first)
    t.start()
    holding.wait()
    with caplog.at_level(logging.WARNING), collection_lock(uri, "team"):
        order.append("second in")
    t.join()
    assert order == ["first done", "second in"]
    assert "Another index run on collection 'team' is in progress" in caplog.text


def test_a_bounded_wait_gives_up_clearly(tmp_path, monkeypatch):
    monkeypatch.setattr(locking, "NOTICE_AFTER_S", 0.1)
    uri = str(tmp_path / "index")
    with (
        collection_lock(uri, "team"),
        pytest.raises(CollectionBusy, match="being written by another teamkb process"),
        collection_lock(uri, "team", timeout=0.3),
    ):
        pass
