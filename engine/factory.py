"""The one place where concrete parts are made from settings."""

from __future__ import annotations

import logging
from pathlib import Path

from engine.adapters import read_current
from engine.engine import Engine
from engine.errors import ConfigError
from engine.ports import Generator
from engine.settings import Settings
from knowledge.embedding import Embedder, SentenceTransformerEmbedder
from knowledge.rerank import CrossEncoderReranker
from knowledge.store import EmbeddingInfo, KnowledgeStore
from state import AnswerCache

log = logging.getLogger(__name__)


def build_generator(settings: Settings) -> Generator | None:
    g = settings.generator
    current = read_current(settings.home) if g.use_adapter else None
    if g.backend == "none":
        return None
    if g.backend == "llamacpp":
        from engine.generators.llamacpp import LlamaCppGenerator, packaged_model

        lora = g.lora_path or (current.gguf if current else "")
        model_path = Path(g.model_path) if g.model_path else None
        if model_path is None:
            try:
                model_path = packaged_model(settings.home / "models")
            except Exception as exc:  # reported as a degraded answer, not a crash
                log.warning("packaged model unavailable: %s", exc)
                model_path = settings.home / "models" / "missing.gguf"
        return LlamaCppGenerator(
            model_path,
            lora_path=Path(lora) if lora else None,
            n_ctx=g.n_ctx,
            n_threads=g.n_threads,
            max_tokens=g.max_tokens,
            temperature=g.temperature,
        )
    if g.backend == "ollama":
        from engine.generators.ollama import OllamaGenerator

        return OllamaGenerator(
            host=g.ollama_host,
            model=g.ollama_model,
            adapter_model=g.ollama_adapter_model or (current.ollama_model if current else ""),
            timeout_s=g.timeout_s,
            keep_alive=g.keep_alive,
            max_tokens=g.max_tokens,
            temperature=g.temperature,
            n_ctx=g.n_ctx,
        )
    raise ConfigError(
        f"Unknown generator backend '{g.backend}': use 'llamacpp', 'ollama' or 'none'."
    )


def build_embedder(settings: Settings) -> Embedder:
    """The packaged all-MiniLM-L6-v2, or the team's own model from a local folder."""
    path = settings.retrieval.embedding_model
    if path and not (Path(path) / "config.json").is_file():
        raise ConfigError(
            f"retrieval.embedding_model: {path} is not a sentence-transformers model folder "
            '(it has no config.json). Set it to "" for the packaged all-MiniLM-L6-v2.'
        )
    return SentenceTransformerEmbedder(path or None)


def build_reranker(settings: Settings) -> CrossEncoderReranker | None:
    """The team's cross-encoder from a local folder, or none (`retrieval.reranker`)."""
    path = settings.retrieval.reranker
    return CrossEncoderReranker(path) if path else None


def build_engine(
    settings: Settings,
    *,
    embedder: Embedder | None = None,
    generator: Generator | None = None,
    with_generator: bool = True,
    store: KnowledgeStore | None = None,
) -> Engine:
    """An engine from settings. Pass `embedder` and `store` of a running engine to build
    another one over the same parts (a different generator, say) without reloading them."""
    settings.home.mkdir(parents=True, exist_ok=True)
    r = settings.retrieval
    embedder = embedder or build_embedder(settings)
    if store is None:
        store = KnowledgeStore(
            settings.index_location,
            embedding=EmbeddingInfo(embedder.name, embedder.dim),
            ann_min_rows=r.ann_min_rows,
            fusion=r.fusion_config(),
            collapse_threshold=r.collapse_threshold,
            drop_filler=r.drop_filler,
            fts_tokenizer=r.fts_tokenizer,
            storage_options=settings.storage_options,
            reranker=build_reranker(settings),
            rerank_depth=r.rerank_depth,
        )
    if generator is None and with_generator:
        generator = build_generator(settings)
    cache = AnswerCache(settings.home / "answers.sqlite") if settings.answer_cache else None
    return Engine(
        settings=settings,
        store=store,
        embedder=embedder,
        generator=generator,
        cache=cache,
    )
