"""An unchanged re-run over a 10,000-file corpus (target: under 5 s).

    python bench/reindex_unchanged.py [--files 10000]

The corpus is synthesized from the example handbook (each file a variation of one of its
sections). The first run uses hash vectors (the model is not what this measures); the
re-run never embeds: it hashes files, finds them unchanged and skips them.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import HashEmbedder, machine
from knowledge.store import KnowledgeStore
from knowledge.sync import sync_collection


def synthesize(root: Path, n: int) -> None:
    sources = sorted(Path("examples/handbook").rglob("*.md"))
    texts = [p.read_text() for p in sources]
    for i in range(n):
        folder = root / f"team{i % 50:02d}"
        folder.mkdir(exist_ok=True)
        body = texts[i % len(texts)].replace("ledger-api", f"ledger-api-{i}")
        (folder / f"page{i:05d}.md").write_text(f"# Page {i}\n\n{body}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=10_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        docs = Path(tmp) / "docs"
        docs.mkdir()
        synthesize(docs, args.files)
        store = KnowledgeStore(str(Path(tmp) / "index"))
        t0 = time.perf_counter()
        first = sync_collection(store.collection("bench"), HashEmbedder(), [docs])
        build = time.perf_counter() - t0
        runs = []
        for _ in range(3):
            t0 = time.perf_counter()
            r = sync_collection(store.collection("bench"), HashEmbedder(), [docs])
            runs.append(time.perf_counter() - t0)
            assert not r.changed
    print(f"machine: {machine()}")
    print(f"{args.files} files, {first.chunks} chunks; first run {build:.1f} s (hash vectors)")
    print(f"unchanged re-run: median {sorted(runs)[1]:.2f} s (target < 5 s)")


if __name__ == "__main__":
    main()
