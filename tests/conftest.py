"""Shared fixtures: the real embedding model, a real LanceDB index of the example
handbook (built once per session), and engines over it."""

from __future__ import annotations

import dataclasses
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from engine import Engine, build_engine
from engine.settings import CollectionSettings, GeneratorSettings, Settings
from knowledge.embedding import SentenceTransformerEmbedder

ROOT = Path(__file__).resolve().parents[1]
HANDBOOK = ROOT / "examples" / "handbook"
QUESTIONS = ROOT / "examples" / "handbook-questions.jsonl"
URL = "https://git.example.com/platform/handbook/blob/main/{path}#L{start}-L{end}"


def cli_workdir(workdir: Path, home: str | Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make `workdir` a CLI user's folder: a teamkb.toml over the handbook with no model,
    the current directory, and no TEAMKB_ overrides leaking in from the environment."""
    (workdir / "teamkb.toml").write_text(
        f'home = "{home}"\n[collections.handbook]\npaths = ["{HANDBOOK}"]\n'
        '[generator]\nbackend = "none"\n'
    )
    monkeypatch.chdir(workdir)
    for key in [k for k in os.environ if k.startswith("TEAMKB_")]:
        monkeypatch.delenv(key)


def make_settings(home: Path, **changes: object) -> Settings:
    """Settings for tests; `generator=` takes a GeneratorSettings or a backend name."""
    gen = changes.pop("generator", "none")
    if isinstance(gen, str):
        gen = GeneratorSettings(backend=gen)  # type: ignore[arg-type]
    base = Settings(
        home=home,
        default_collection="handbook",
        collections={"handbook": CollectionSettings("handbook", (str(HANDBOOK),), URL)},
        generator=gen,  # type: ignore[arg-type]
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def embedder() -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder()


@pytest.fixture(scope="session")
def handbook_home(tmp_path_factory: pytest.TempPathFactory, embedder) -> Path:
    """A data folder whose index holds the example handbook. Treat as read-only;
    copy it (see `home_copy`) to change it."""
    home = tmp_path_factory.mktemp("handbook-home")
    engine = build_engine(make_settings(home), embedder=embedder, with_generator=False)
    report = engine.sync()
    assert report.chunks > 50 and not report.skipped
    return home


@pytest.fixture
def home_copy(handbook_home: Path, tmp_path: Path) -> Path:
    dst = tmp_path / "home"
    shutil.copytree(handbook_home, dst)
    return dst


@pytest.fixture(scope="session")
def search_engine(handbook_home: Path, embedder) -> Engine:
    """Retrieval only: no model (asks degrade to sources)."""
    settings = make_settings(handbook_home, answer_cache=False)
    return build_engine(settings, embedder=embedder, with_generator=False)


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="session")
def packaged_gguf(models_dir: Path) -> Path:
    pytest.importorskip("llama_cpp", reason="needs teamkb[embedded]")
    from engine.generators.llamacpp import packaged_model

    return packaged_model(models_dir)


@pytest.fixture(scope="session")
def llm_engine(handbook_home: Path, embedder, packaged_gguf: Path) -> Iterator[Engine]:
    """The embedded default for real: llama.cpp generating with Gemma 3 270M."""
    settings = make_settings(
        handbook_home,
        answer_cache=False,
        generator=GeneratorSettings(backend="llamacpp", model_path=str(packaged_gguf)),
    )
    yield build_engine(settings, embedder=embedder)


@pytest.fixture
def fake_ollama():
    """A running stand-in Ollama server (see tests/fakes/ollama_server.py)."""
    from tests.fakes.ollama_server import FakeOllama

    with FakeOllama() as server:
        yield server


def ollama_settings(home: Path, url: str) -> Settings:
    """Settings whose generator is the `ollama` client pointed at a stand-in server."""
    return make_settings(
        home,
        answer_cache=False,
        generator=GeneratorSettings(
            backend="ollama", ollama_host=url, ollama_model="gemma3:270m",
            use_adapter=False, timeout_s=10,
        ),
    )  # fmt: skip


@pytest.fixture
def ollama_engine(handbook_home: Path, embedder, fake_ollama) -> Engine:
    """The real engine and the real `ollama` client, talking to the stand-in server:
    fast, deterministic cited answers for front-end tests."""
    return build_engine(ollama_settings(handbook_home, fake_ollama.url), embedder=embedder)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[object]:
    """A real PostgreSQL for the shared-state tests (Debian's `postgresql` package;
    `scripts/setup.sh dev` installs it)."""
    from tests.fakes.postgres import PostgresServer, find_bindir

    pytest.importorskip("psycopg", reason="needs psycopg (the dev extra)")
    bindir = find_bindir()
    if bindir is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) not found: install postgresql")
    server = PostgresServer(bindir)
    server.start()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def pg_url(postgres_server) -> str:
    """state_url of a fresh database on the test PostgreSQL."""
    return str(postgres_server.new_database())


@pytest.fixture(scope="session")
def moto_s3() -> Iterator[object]:
    """moto's S3 server mode on loopback (the dev extra's moto[server])."""
    pytest.importorskip("moto.server", reason="needs moto[server] (the dev extra)")
    from tests.fakes.s3 import MotoServer

    server = MotoServer()
    try:
        yield server
    finally:
        server.close()
