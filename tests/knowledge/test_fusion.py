"""Fusion, the full-text query and near-copy collapse on hand-built inputs."""

import pytest

from knowledge.diversity import collapse, jaccard, shingles
from knowledge.fusion import Fusion, convex_scores, fuse, minmax, rrf_scores
from knowledge.query import MAX_TERMS, expansion_terms, fts_query


def test_rrf_by_hand():
    # a: 1/(10+1) + 0.5/(10+2); b: 1/(10+2); c: 0.5/(10+1)
    scores = rrf_scores([["a", "b"], ["c", "a"]], [1.0, 0.5], k=10)
    assert scores == pytest.approx({"a": 1 / 11 + 0.5 / 12, "b": 1 / 12, "c": 0.5 / 11})


def test_rrf_weight_decides_who_wins_a_split_vote():
    vector, fts = [("v", 0.9), ("f", 0.8)], [("f", 12.0), ("v", 3.0)]
    # Equal weights: each is first once and second once, a tie kept in vector order.
    assert [i for i, _ in fuse(vector, fts, Fusion(fts_weight=1.0))] == ["v", "f"]
    # The full-text list counting double puts its first hit first.
    assert [i for i, _ in fuse(vector, fts, Fusion(fts_weight=2.0))] == ["f", "v"]


def test_minmax_edges():
    assert minmax([]) == []
    assert minmax([3.0, 3.0]) == [1.0, 1.0]
    assert minmax([2.0, 4.0, 3.0]) == [0.0, 1.0, 0.5]


def test_convex_keeps_score_gaps_that_ranks_lose():
    # Vector: a barely ahead of b. Full text: b far ahead of a (BM25 12 vs 1).
    vector = [("a", 0.80), ("b", 0.79), ("c", 0.10)]
    fts = [("b", 12.0), ("a", 1.0)]
    convex = convex_scores([vector, fts], [1.0, 0.5])
    assert convex["b"] > convex["a"]  # b: 0.986 + 0.5, a: 1.0 + 0
    assert convex["c"] == pytest.approx(0.0)
    # Reciprocal ranks see one first place each; the vector list's weight wins.
    rrf = rrf_scores([["a", "b", "c"], ["b", "a"]], [1.0, 0.5], k=10)
    assert rrf["a"] > rrf["b"]
    fused = fuse(vector, fts, Fusion(method="convex", fts_weight=0.5))
    assert [i for i, _ in fused] == ["b", "a", "c"]


def test_fuse_with_an_empty_leg_is_that_leg_order():
    vector = [("x", 0.5), ("y", 0.4), ("z", 0.3)]
    for method in ("rrf", "convex"):
        assert [i for i, _ in fuse(vector, [], Fusion(method=method))] == ["x", "y", "z"]


def test_the_full_text_best_hit_can_be_kept_in_the_top_three():
    # git-doc's "back out the last commit but keep the changes staged": only full text
    # ranks git-reset's `--soft` passage (z) first; four passages both legs like sink it.
    vector = [("a", 0.9), ("b", 0.8), ("c", 0.7), ("d", 0.6)]
    fts = [("z", 9.0), ("b", 8.0), ("c", 7.0), ("a", 6.0), ("d", 5.0)]
    off = [i for i, _ in fuse(vector, fts, Fusion())]
    assert len(off) == 5 and "z" not in off[:3]
    on = fuse(vector, fts, Fusion(fts_best_within=3))
    assert [i for i, _ in on][:3] == [*off[:2], "z"]
    off_scores = [s for _, s in fuse(vector, fts, Fusion())]
    assert [s for _, s in on] == off_scores  # scores stay in place: still sorted
    assert sorted(i for i, _ in on) == sorted(off)
    # Already in the top three: nothing moves.
    assert fuse(vector, fts[1:] + fts[:1], Fusion(fts_best_within=3)) == fuse(
        vector, fts[1:] + fts[:1], Fusion()
    )


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("how do I make our git pull rebase?", "make git pull rebase"),
        ("which key: pull.rebase or --force-with-lease?", "key pull.rebase force-with-lease"),
        ("Où est le café ?", "Où est le café"),
        ("設定を変更する方法", "設定を変更する方法"),
        ("the of and how do we", ""),
        ("?!... ---", ""),
    ],
)
def test_fts_query_keeps_content_words(question, expected):
    assert fts_query(question) == expected


def test_fts_query_caps_a_pasted_document():
    assert len(fts_query("word " * 5000).split()) == MAX_TERMS
    assert fts_query("how do we", drop_filler=False) == "how do we"


def test_expansion_terms_weight_by_score_and_skip_the_query():
    texts = ["rollback rollback canary deploy", "canary traffic percent"]
    terms = expansion_terms(texts, [2.0, 1.0], "deploy canary", terms=2)
    assert terms == ["rollback", "traffic"]  # 2*2/3 vs 1/3 vs 1/3 (percent ties, later)


def test_collapse_drops_near_copies_and_keeps_the_best_ranked():
    base = (
        "Set the memory limit of a container with --memory. A container that goes past "
        "its limit is killed by the kernel, and docker inspect shows OOMKilled as true. "
        "Swap is limited with --memory-swap, which counts memory and swap together, so "
        "a value equal to the memory limit means the container gets no swap at all."
    )
    near = base.replace("kernel", "kernel's OOM killer")  # a small edit in a long passage
    other = "Port mappings are listed with docker port and published with -p."
    ranked = [("a", base), ("b", near), ("c", other), ("d", base)]
    kept = collapse(ranked, lambda r: r[1], limit=3)
    assert [r[0] for r in kept] == ["a", "c"]
    assert jaccard(shingles(base), shingles(near)) >= 0.8
    assert jaccard(shingles(base), shingles(other)) < 0.1
    assert [r[0] for r in collapse(ranked, lambda r: r[1], limit=1)] == ["a"]
