"""Hybrid, vector and full-text search over the indexed example handbook."""

import pytest

from engine.errors import InvalidQuestion


@pytest.mark.parametrize(
    ("query", "expected", "within"),
    [
        ("how do I roll back a bad release", "deploys/rollback.md", 1),
        ("rotate the postgres password", "runbooks/db-password-rotation.md", 1),
        ("consumer lag on kafka", "runbooks/kafka-consumer-lag.md", 1),
        # Two docs mention this key; the reference must be among the first two.
        ("ledger.max_batch_size", "config/settings-reference.md", 2),
    ],
)
def test_hybrid_finds_the_right_doc_first(search_engine, query, expected, within):
    top = search_engine.search(query, k=3)
    assert expected in [p.source for p in top[:within]]


def test_modes_and_fields(search_engine):
    for mode in ("hybrid", "vector", "fts"):
        hits = search_engine.search("canary 15 minutes", k=4, mode=mode)
        assert len(hits) == 4
        p = hits[0]
        assert p.lines[0] <= p.lines[1] and p.text and p.title and p.collection == "handbook"
        assert p.url.startswith("https://git.example.com/platform/handbook/blob/main/")
        assert p.url.endswith(f"#L{p.lines[0]}-L{p.lines[1]}")


def test_path_prefix_filter(search_engine):
    hits = search_engine.search("password", k=5, path_prefix="security/")
    assert hits and all(h.source.startswith("security/") for h in hits)


def test_queries_with_syntax_characters_do_not_break_fts(search_engine):
    # Quotes, colons and hyphens are read as text, not as full-text query syntax.
    finds = {
        'what is "blast radius"?': "glossary.md",
        "ledger-api: port?": "services/ledger-api.md",
    }
    for mode in ("fts", "hybrid"):
        for q, source in finds.items():
            assert source in [p.source for p in search_engine.search(q, k=3, mode=mode)], (q, mode)
        # Operators and a lone stop word are common words: nothing to look for, no error.
        for q in ("AND OR NOT (", "the"):
            assert search_engine.search(q, k=3, mode=mode) == [], (q, mode)


def test_empty_query_is_a_user_error(search_engine):
    with pytest.raises(InvalidQuestion):
        search_engine.search("   ")
