"""The answer cache's key: a hash of everything that shapes an answer, derived rather
than listed, so that no setting can be forgotten and no version is bumped by hand.

A hand-kept list of settings (and a prompt version bumped in 27 commits) let
`retrieval.mode` and a dozen more change the answer without changing the key: the old
answer was served. Hashing the whole settings tables also keys on some that only change
how fast an answer comes (`timeout_s`, `n_threads`): a miss after such a change costs one
generation, a stale answer costs trust.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from pathlib import Path

from engine.settings import CollectionSettings, GeneratorSettings, RetrievalSettings

# The packages whose code turns a question into an answer: retrieval, evidence, prompt,
# citation checking, rendering and the cached record's own format. All their modules
# count, not a chosen few: a module left out of a list would serve stale answers.
_ANSWER_CODE = (Path(__file__).parent, Path(__file__).parent.parent / "knowledge")


def answer_key(
    *,
    question: str,
    query: str,
    collection: CollectionSettings,
    index: str,
    index_version: int,
    model: str,
    adapter: str,
    retrieval: RetrievalSettings,
    generator: GeneratorSettings,
) -> str:
    """The cache key of the answer to `question` (and the retrieval `query` made of it
    and the conversation) from the given index (its location and version), model and
    settings."""
    inputs = {
        "question": _normalised(question),
        "query": _normalised(query),
        "collection": asdict(collection),  # its `url` template makes the citation links
        "index": index,  # two configurations may share a data folder, not an index
        "index_version": index_version,
        "model": model,
        "adapter": adapter,
        "retrieval": asdict(retrieval),
        "generator": asdict(generator),
        "code": CODE_FINGERPRINT,
    }
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()


def _normalised(text: str) -> str:
    """Case and spacing do not change the key: a repeat typed in lower case is served
    the same answer. (Case can shape a decline, since a capitalised name must be in the
    passages; a repeat is served the first asker's answer all the same.)"""
    return " ".join(text.lower().split())


def source_fingerprint(*roots: Path) -> str:
    digest = hashlib.sha256()
    files = [(root, path) for root in roots for path in sorted(root.rglob("*.py"))]
    if not files:  # a hash of nothing would key every version of the code alike
        raise RuntimeError(f"no Python source under {', '.join(map(str, roots))}")
    for root, path in files:
        digest.update(path.relative_to(root.parent).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


# Taken when the code is loaded, not at the first question: an upgrade in place after
# start-up must not file the old code's answers under the new code's hash.
CODE_FINGERPRINT = source_fingerprint(*_ANSWER_CODE)
