"""Peak memory of an index run over ~100k chunks (target: under 2 GB).

    python bench/index_memory.py [--files 5000]

Synthesizes a corpus of handbook-like pages (~20 chunks each) and indexes it with the
real pipeline; vectors are hashed (the model's fixed ~0.3 GB is reported separately)
so the run finishes in minutes and the figure is the pipeline's own footprint.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import HashEmbedder, machine, peak_rss_mb
from knowledge.store import KnowledgeStore
from knowledge.sync import sync_collection


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=5000)
    args = ap.parse_args()
    sections: list[str] = []
    for p in sorted(Path("examples/handbook").rglob("*.md")):
        sections.extend(s for s in p.read_text().split("\n## ")[1:] if len(s) > 200)
    with tempfile.TemporaryDirectory() as tmp:
        docs = Path(tmp) / "docs"
        for i in range(args.files):
            folder = docs / f"space{i % 100:03d}"
            folder.mkdir(parents=True, exist_ok=True)
            body = "\n\n".join(
                f"## {sections[(i * 7 + j) % len(sections)]}".replace("ledger", f"ledger{i}")
                for j in range(20)
            )
            (folder / f"page{i:05d}.md").write_text(f"# Page {i}\n\n{body}\n")
        before = peak_rss_mb()
        t0 = time.perf_counter()
        store = KnowledgeStore(str(Path(tmp) / "index"))
        report = sync_collection(store.collection("bench"), HashEmbedder(), [docs])
        took = time.perf_counter() - t0
    print(f"machine: {machine()}")
    print(f"{report.files} files, {report.chunks} chunks indexed in {took:.0f} s")
    print(f"peak RSS: {peak_rss_mb():.0f} MB (before the run: {before:.0f} MB; target < 2048)")


if __name__ == "__main__":
    main()
