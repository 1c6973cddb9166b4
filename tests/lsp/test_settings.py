"""Client settings: typed, with bad values logged and ignored one by one."""

from __future__ import annotations

import logging

import pytest

from lsp.settings import LspSettings

BASE = LspSettings(collection="handbook")


def test_defaults():
    assert (BASE.docs_folders, BASE.generator, BASE.max_sources) == ((), "none", 3)


def test_client_keys_camel_case_first_then_snake_case():
    new = BASE.merged({"collection": " ops ", "docsFolders": ["docs", "runbooks"],
                       "generator": "ollama", "maxSources": 7})  # fmt: skip
    assert new == LspSettings(collection="ops", docs_folders=("docs", "runbooks"),
                              generator="ollama", max_sources=7)  # fmt: skip
    assert BASE.merged({"docs_folders": "docs", "max_sources": 20}) == LspSettings(
        collection="handbook", docs_folders=("docs",), max_sources=20
    )
    assert BASE.merged({"maxSources": 2, "max_sources": 9}).max_sources == 2


@pytest.mark.parametrize("data", [None, [], "ollama", 3])
def test_not_a_mapping_changes_nothing(data):
    assert BASE.merged(data) is BASE


def test_absent_or_null_keys_change_nothing():
    assert BASE.merged({}) is BASE
    assert BASE.merged({"generator": None, "maxSources": None, "collection": None}) is BASE


@pytest.mark.parametrize(
    "data",
    [
        {"collection": "   "},
        {"collection": 5},
        {"docsFolders": ["docs", 3]},
        {"docsFolders": 3},
        {"generator": "gpt-9000"},
        {"maxSources": "lots"},
        {"maxSources": 0},
        {"maxSources": 21},
        {"maxSources": True},
        {"maxSources": 2.0},
    ],
)
def test_bad_values_are_ignored(data):
    assert BASE.merged(data) == BASE


def test_one_bad_value_does_not_drop_the_good_ones(caplog: pytest.LogCaptureFixture):
    with caplog.at_level(logging.WARNING, logger="lsp.settings"):
        new = BASE.merged({"generator": "gpt-9000", "maxSources": 5, "collection": "ops"})
    assert new == LspSettings(collection="ops", max_sources=5)
    assert "teamkb.generator='gpt-9000'" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="lsp.settings"):
        assert BASE.merged({"maxSources": "lots"}) == BASE
    assert "teamkb.maxSources='lots'" in caplog.text


def test_settings_compare_by_value():
    assert BASE.merged({"maxSources": 3}) == BASE
    assert BASE.merged({"maxSources": 4}) != BASE


def test_the_editor_keeps_the_passage_naming_what_a_decline_missed(search_engine, tmp_path):
    """maxSources (3) trims a decline's sources; the lower passage holding the name the
    question asked about comes first, so the editor still shows it."""
    from lsp.server import TeamkbServer
    from tests.conftest import make_settings

    answer = search_engine.ask("FX rates look stale, can I just FLUSHALL redis?")
    assert answer.abstained and len(answer.citations) == 4
    shown = TeamkbServer(make_settings(tmp_path)).trim(answer).citations
    assert len(shown) == 3 and "Never run FLUSHALL" in shown[0].quote
