"""Retrieval metrics on hand-checked cases, and `teamkb eval retrieval` on a tiny BEIR folder."""

import json
import math

import pytest

from knowledge.evaluation import ndcg_at_k, read_qrels, recall_at_k
from teamkb.cli import main


def test_ndcg_with_graded_gains_by_hand():
    rels = {"a": 2, "b": 1, "c": 0}
    # Ranked b, x, a: DCG = 1/log2(2) + 2/log2(4) = 2; ideal a, b: 2 + 1/log2(3).
    assert ndcg_at_k(["b", "x", "a"], rels) == pytest.approx(2 / (2 + 1 / math.log2(3)))
    assert ndcg_at_k(["a", "b"], rels) == pytest.approx(1.0)
    assert ndcg_at_k(["x", "y"], rels) == 0.0
    assert ndcg_at_k(["a"], {"a": 0}) == 0.0  # nothing relevant: 0, not a division error


def test_recall_counts_only_positive_judgements():
    rels = {"a": 2, "b": 1, "c": 0}
    assert recall_at_k(["c", "a", "x"], rels, 10) == 0.5
    assert recall_at_k(["x", "a", "b"], rels, 2) == 0.5
    assert recall_at_k(["a", "b"], rels, 10) == 1.0


def test_qrels_with_and_without_header(tmp_path):
    (tmp_path / "h.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\t2\nq1\td2\t0\n")
    (tmp_path / "n.tsv").write_text("q1\td1\t2\nq2\td3\t1\n")
    assert read_qrels(tmp_path / "h.tsv") == {"q1": {"d1": 2, "d2": 0}}
    assert read_qrels(tmp_path / "n.tsv") == {"q1": {"d1": 2}, "q2": {"d3": 1}}


@pytest.fixture
def beir(tmp_path):
    d = tmp_path / "tiny"
    (d / "qrels").mkdir(parents=True)
    docs = {
        "d1": ("Canary deploys", "A canary receives 5% of production traffic for 15 minutes."),
        "d2": ("Rollbacks", "Roll back with shipit rollback when the error rate exceeds 1%."),
        "d3": ("Lunch", "Team lunch is on Fridays at noon in the kitchen."),
        "d4": ("Passwords", "Rotate the database password every 90 days with vault."),
    }
    (d / "corpus.jsonl").write_text(
        "".join(json.dumps({"_id": k, "title": t, "text": x}) + "\n" for k, (t, x) in docs.items())
    )
    queries = {"q1": "how much traffic does a canary get", "q2": "when is team lunch",
               "q3": "credential rotation period", "q4": "unjudged query"}  # fmt: skip
    (d / "queries.jsonl").write_text(
        "".join(json.dumps({"_id": k, "text": v}) + "\n" for k, v in queries.items())
    )
    (d / "qrels" / "test.tsv").write_text(
        "query-id\tcorpus-id\tscore\nq1\td1\t2\nq1\td2\t1\nq2\td3\t1\nq3\td4\t1\n"
    )
    return d


def test_eval_retrieval_cli_json(beir, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TEAMKB_HOME", str(tmp_path / "home"))
    assert main(["eval", "retrieval", "--beir", str(beir), "--mode", "hybrid,vector,fts",
                 "--json"]) == 0  # fmt: skip
    out = json.loads(capsys.readouterr().out)
    assert [r["mode"] for r in out] == ["hybrid", "vector", "fts"]
    for r in out:
        assert r["queries"] == 3  # the unjudged query is not scored
        assert set(r) >= {"ndcg@10", "recall@10", "recall@100", "queries", "mode"}
    # Four documents: vector search returns them all, so its recall is complete; full
    # text only finds documents sharing a term ("traffic"/"canary" miss d2).
    assert out[1]["recall@10"] == out[1]["recall@100"] == 1.0
    assert out[2]["recall@10"] < 1.0
    hybrid = out[0]
    assert hybrid["ndcg@10"] > 0.9  # the right document first for each query


def test_eval_retrieval_rejects_a_non_beir_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TEAMKB_HOME", str(tmp_path / "home"))
    assert main(["eval", "retrieval", "--beir", str(tmp_path)]) == 1
    assert "is not a BEIR folder: corpus.jsonl is missing" in capsys.readouterr().err
