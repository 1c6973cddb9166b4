"""One settings object, built by entry points (see `teamkb.config`) and passed down.

The engine never reads the environment itself; front ends parse their own sections
(`slack`, `lsp`, `finetune`) from `Settings.section(name)`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import ConfigDict

from knowledge.diversity import DEFAULT_THRESHOLD
from knowledge.fusion import Fusion, FusionMethod
from knowledge.query import FtsTokenizer

GeneratorBackend = Literal["llamacpp", "ollama", "none"]


@dataclass(frozen=True)
class CollectionSettings:
    name: str
    paths: tuple[str, ...] = ()
    # Citation link template; placeholders {path}, {start}, {end}. Empty: a file path.
    url: str = ""

    def citation_url(self, source: str, start: int, end: int) -> str | None:
        """The link to these lines, or None when there is no template or it cannot be
        filled (an unknown placeholder): a citation then shows its file path."""
        if not self.url:
            return None
        try:
            return self.url.format(path=source, start=start, end=end) or None
        except (KeyError, IndexError, ValueError):
            return None


@dataclass(frozen=True)
class RetrievalSettings:
    __pydantic_config__ = ConfigDict(extra="forbid")  # a misspelt key is an error

    mode: Literal["hybrid", "vector", "fts"] = "hybrid"
    k: int = 6
    # Passages put in the prompt. Small models answer best from few: 270M loses the
    # thread past three handbook-sized passages (docs/decisions/prompt-passages.md).
    prompt_passages: int = 3
    # Evidence quotes shown with an answer (each at most 300 characters), after the lines
    # the model's own sentences cite. A fourth shows the fact for more git-doc and
    # handbook questions than three, and never hides one (docs/decisions/quotes.md).
    quotes: int = 4
    # Below this cosine similarity of the best passage the engine abstains (see
    # docs/decisions/abstention-threshold.md for how it was calibrated).
    min_similarity: float = 0.35
    # Decline below this evidence confidence (best sentence relevance + 0.5 x question
    # coverage; engine.abstention). docs/decisions/abstention-threshold.md says why 0.75.
    min_confidence: float = 0.75
    ann_min_rows: int = 50_000
    # Hybrid fusion: see docs/decisions/fusion-defaults.md for how each default was chosen.
    fusion: FusionMethod = "rrf"
    fusion_k: int = 10
    fts_weight: float = 0.5
    candidates: int = 20
    # Keep the full-text leg's best hit within the top this many (0: off): +2 facts on
    # git-doc, -1% nDCG@10 on two BEIR sets (docs/decisions/fusion-defaults.md), so an option.
    fts_best_within: int = 0
    # Near-copies (word 3-gram Jaccard ≥ this) collapse to the best-ranked one; 1.0: off.
    collapse_threshold: float = DEFAULT_THRESHOLD
    # Drop "how do I", "our", "we"… from the full-text leg's query (the vector leg keeps all).
    drop_filler: bool = False
    # How the full-text index splits words: "icu/split" segments Chinese and Japanese
    # (knowledge.query). Level on English sets but one git-doc fact fewer, so an option.
    fts_tokenizer: FtsTokenizer = "simple"
    chunk_chars: int = 900
    # A sentence-transformers cross-encoder in a local folder (never fetched): the best
    # `rerank_depth` fused candidates are put in its order. Empty: none (knowledge.rerank).
    reranker: str = ""
    rerank_depth: int = 20
    # A sentence-transformers embedding model in a local folder instead of the packaged
    # all-MiniLM-L6-v2; changing it means indexing again (the index records its model).
    embedding_model: str = ""

    def fusion_config(self) -> Fusion:
        return Fusion(
            self.fusion, self.fusion_k, self.fts_weight, self.candidates, self.fts_best_within
        )


@dataclass(frozen=True)
class GeneratorSettings:
    __pydantic_config__ = ConfigDict(extra="forbid")  # a misspelt key is an error

    backend: GeneratorBackend = "llamacpp"
    max_tokens: int = 160
    # Greedy: an answer is lines picked from the docs, and the same question should get
    # the same answer (docs/decisions/greedy-decoding.md).
    temperature: float = 0.0
    timeout_s: float = 60.0
    # Use the adapter the nightly retraining put in service, if there is one.
    use_adapter: bool = True
    # llamacpp: empty model_path means the packaged Gemma 3 270M GGUF.
    model_path: str = ""
    lora_path: str = ""
    n_ctx: int = 2048
    n_threads: int = 0
    # ollama
    ollama_host: str = "http://127.0.0.1:11434"
    ollama_model: str = "gemma3:270m"
    ollama_adapter_model: str = ""
    keep_alive: str = "10m"


@dataclass(frozen=True)
class Settings:
    home: Path
    index_uri: str = ""
    default_collection: str = "handbook"
    collections: Mapping[str, CollectionSettings] = field(default_factory=dict)
    retrieval: RetrievalSettings = field(default_factory=RetrievalSettings)
    generator: GeneratorSettings = field(default_factory=GeneratorSettings)
    answer_cache: bool = True
    max_question_chars: int = 2000
    sections: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    config_file: str = ""
    # Shared state (answers, feedback, Slack dedup) in PostgreSQL when several replicas
    # serve one team: "postgresql://…". Empty: SQLite files in `home`. It may carry a
    # password, so it never appears in a repr.
    state_url: str = field(default="", repr=False)
    # LanceDB storage options of an object-store `index_uri` (aws_access_key_id, …),
    # read from the standard AWS variables by `teamkb.config`: secrets, so no repr.
    storage_options: Mapping[str, str] = field(default_factory=dict, repr=False)

    @property
    def index_location(self) -> str:
        return self.index_uri or str(self.home / "index")

    def collection(self, name: str | None) -> CollectionSettings:
        key = name or self.default_collection
        return self.collections.get(key) or CollectionSettings(key)

    def section(self, name: str) -> Mapping[str, Any]:
        return self.sections.get(name, {})
