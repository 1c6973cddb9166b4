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


def test_a_decline_keeps_the_passage_its_notice_points_at(tmp_path):
    """maxSources trims a sources-only answer, but never the passage a decline's notice
    names ("Passage [4], ranked lower, does: it is listed too.")."""
    from engine.types import Answer, Citation
    from lsp.server import TeamkbServer
    from tests.conftest import make_settings

    server = TeamkbServer(make_settings(tmp_path))
    cites = tuple(Citation(n, f"{n}.md", "t", "h", (1, 2), None) for n in range(1, 5))
    notice = "None of the closest passages mentions 'FLUSHALL'. Passage [4], ranked lower, does."
    declined = Answer("q", "The docs don't cover this.", cites, abstained=True, notice=notice)
    assert [c.n for c in server.trim(declined).citations] == [1, 2, 3, 4]
    plain = Answer("q", "The docs don't cover this.", cites, abstained=True, notice="No passage.")
    assert [c.n for c in server.trim(plain).citations] == [1, 2, 3]
