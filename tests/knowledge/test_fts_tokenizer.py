"""`retrieval.fts_tokenizer`: with "icu/split" the full-text leg finds Chinese and
Japanese words inside a sentence; changing the setting rebuilds the full-text index on
the next index run, even when no document changed."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine import build_engine
from engine.settings import RetrievalSettings
from teamkb.config import load_settings
from tests.conftest import make_settings

DOCS = {
    "rollback-zh.md": "# 回滚\n\n如何回滚部署到上一个版本：运行 shipit rollback 命令。\n",
    "rollback-ja.md": (
        "# ロールバック\n\nデプロイを前のバージョンに戻すには shipit rollback を実行します。\n"
    ),
    "deploys.md": "# Deploys\n\nRoll a deploy back with `shipit rollback <service>`.\n",
}


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    folder.mkdir()
    for name, text in DOCS.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def _engine(home: Path, embedder, tokenizer: str):
    retrieval = RetrievalSettings(fts_tokenizer=tokenizer)  # type: ignore[arg-type]
    settings = make_settings(home, answer_cache=False, retrieval=retrieval)
    return build_engine(settings, embedder=embedder, with_generator=False)


def _fts_sources(engine, query: str) -> list[str]:
    return [p.source for p in engine.search(query, collection="docs", k=3, mode="fts")]


def test_icu_split_finds_cjk_words_inside_a_sentence_and_a_switch_rebuilds(
    docs: Path, tmp_path: Path, embedder
):
    home = tmp_path / "home"
    simple = _engine(home, embedder, "simple")
    simple.sync([docs], collection="docs")
    # A CJK sentence is one token to "simple": a word from inside it matches nothing.
    assert _fts_sources(simple, "回滚部署") == []
    assert _fts_sources(simple, "バージョン") == []
    before = simple.store.collection("docs").published_version()

    icu = _engine(home, embedder, "icu/split")
    report = icu.sync([docs], collection="docs")  # no document changed
    assert not report.changed and report.embedded == 0
    after = icu.store.collection("docs").published_version()
    assert after is not None and before is not None and after > before
    assert _fts_sources(icu, "回滚部署") == ["rollback-zh.md"]
    assert _fts_sources(icu, "バージョン") == ["rollback-ja.md"]
    # English words still split at punctuation as before.
    assert "deploys.md" in _fts_sources(icu, "shipit rollback service")
    assert [p.source for p in icu.search("回滚部署", collection="docs", k=1)] == ["rollback-zh.md"]

    # Same setting again: nothing to rebuild, nothing published.
    icu.sync([docs], collection="docs")
    assert icu.store.collection("docs").published_version() == after


def test_an_unknown_tokenizer_is_a_settings_error(tmp_path: Path):
    config = tmp_path / "teamkb.toml"
    config.write_text('[retrieval]\nfts_tokenizer = "icu"\n', encoding="utf-8")
    with pytest.raises(Exception, match="fts_tokenizer") as err:
        load_settings(config)
    assert "icu/split" in str(err.value)
