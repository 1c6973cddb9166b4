"""The index on object storage: `index_uri = "s3://bucket/prefix"` with the standard AWS
variables, against moto's S3 server mode on loopback (a stand-in for S3 only). The
settings come from `teamkb.config`, the one place that reads the environment."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine import GeneratorSettings, build_engine
from engine.errors import ConfigError
from knowledge.sync import sync_collection
from teamkb.config import load_settings
from tests.conftest import ROOT
from tests.knowledge.test_sync import CountingEmbedder, crash_after_first_batch


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    d = tmp_path / "docs"
    d.mkdir()
    (d / "deploy.md").write_text(
        "# Deploy\n\n## Canary\nCanary runs 15 minutes.\n\n## Rollback\nUse shipit rollback.\n"
    )
    (d / "disk.md").write_text("# Disk full\n\nDelete old logs in /var/log/app.\n")
    return d


def s3_env(moto_s3, tmp_path: Path, **changes: str) -> dict[str, str]:
    bucket = moto_s3.new_bucket()
    return {**moto_s3.env(), "TEAMKB_INDEX_URI": f"s3://{bucket}/teamkb",
            "TEAMKB_HOME": str(tmp_path / "home"), **changes}  # fmt: skip


def test_index_search_ask_reindex_and_crash_on_s3(moto_s3, tmp_path, docs, embedder,
                                                   fake_ollama):  # fmt: skip
    settings = load_settings(env=s3_env(moto_s3, tmp_path), cwd=tmp_path)
    assert settings.storage_options["aws_endpoint"] == moto_s3.url
    assert "secret" not in repr(settings)  # the AWS secret is in storage_options, no repr
    gen = GeneratorSettings(backend="ollama", ollama_host=fake_ollama.url, use_adapter=False,
                            timeout_s=10)  # fmt: skip
    settings = dataclasses.replace(settings, generator=gen, answer_cache=False)
    engine = build_engine(settings, embedder=embedder)
    first = engine.sync([docs], collection="team")
    assert (first.files, first.added, first.chunks) == (2, 3, 3)
    assert engine.search("delete old logs", collection="team", k=1)[0].source == "disk.md"
    answer = engine.ask("How long does the canary run?", collection="team")
    assert answer.citations and answer.citations[0].source == "deploy.md"

    # Incremental: one changed file is re-embedded, the other is left alone.
    (docs / "deploy.md").write_text("# Deploy\n\n## Canary\nCanary now runs 20 minutes.\n")
    counting = CountingEmbedder(embedder)
    again = sync_collection(engine.store.collection("team"), counting, [docs])
    assert (again.chunks, again.removed, counting.embedded) == (2, 1, 1), again

    # A crash mid-index leaves the published version searchable.
    for i in range(12):
        (docs / f"extra{i}.md").write_text(f"# Extra {i}\n\nExtra page {i} about canaries.\n")
    crash_after_first_batch(engine.store.collection("team"), embedder, docs, batch_size=4)
    reader = build_engine(settings, embedder=embedder)  # another process's view
    assert reader.store.collection("team").published_version() == again.version
    hits = reader.search("canary", collection="team", k=10)
    assert {h.source for h in hits} == {"deploy.md", "disk.md"}
    assert any("20 minutes" in h.text for h in hits)


def test_half_set_credentials_name_the_missing_variable(moto_s3, tmp_path):
    env = s3_env(moto_s3, tmp_path)
    del env["AWS_SECRET_ACCESS_KEY"]
    with pytest.raises(ConfigError, match="uses AWS_ACCESS_KEY_ID but AWS_SECRET_ACCESS_KEY"):
        load_settings(env=env, cwd=tmp_path)


def test_refused_credentials_name_the_variable_and_print_no_secret(tmp_path):
    pytest.importorskip("moto.server", reason="needs moto[server] (the dev extra)")
    from tests.fakes.s3 import SECRET_KEY, MotoServer

    strict = MotoServer(check_credentials=True)  # knows no access key at all
    try:
        env = {**os.environ, **s3_env(strict, tmp_path), "PYTHONPATH": str(ROOT)}
        run = subprocess.run(
            [sys.executable, "-m", "teamkb", "search", "canary"],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    finally:
        strict.close()
    out = run.stdout + run.stderr
    assert run.returncode != 0
    assert "The object store refused access to s3://" in out
    assert "(InvalidAccessKeyId): check AWS_ACCESS_KEY_ID" in out
    assert SECRET_KEY not in out
