"""Ingest throughput and index size: ingest a folder into a fresh knowledge base and report.

    .venv/bin/python eval/bench_ingest.py [FOLDER ...]     (default: the bundled corpus/)
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
from pathlib import Path

from app.config import PROJECT_ROOT, load_settings
from app.pipeline import Copilot


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("folders", nargs="*", type=Path, default=[PROJECT_ROOT / "corpus"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="geohazard-ingest-bench-") as tmp:
        copilot = Copilot(load_settings(), Path(tmp) / "kb")
        copilot.kb  # open Chroma and the registry outside the timing
        copilot.retrieve("预热")  # load the embedding model outside the timing
        start = time.perf_counter()
        results = copilot.ingest(args.folders)
        seconds = time.perf_counter() - start
        done = [r for r in results if r.status == "added"]
        chunks = sum(r.chunks for r in done)
        chars = sum(len(c.text) for d in copilot.kb.documents() for c in copilot.kb.chunks_of(d.source))
        source_bytes = sum(Path(r.path).stat().st_size for r in done)
        kb_dir = Path(tmp) / "kb"
        lines = [
            f"# Ingest benchmark {dt.date.today()}",
            "",
            f"Folders: {', '.join(str(f) for f in args.folders)}",
            "",
            "| metric | value |",
            "|---|---|",
            f"| files ingested | {len(done)} ({sum(1 for r in results if not r.ok)} failed) |",
            f"| chunks | {chunks} (mean {chars / max(chunks, 1):.0f} characters) |",
            f"| wall time | {seconds:.1f} s |",
            f"| throughput | {len(done) / seconds:.2f} files/s, {chunks / seconds:.1f} chunks/s |",
            f"| source size | {source_bytes / 2**20:.2f} MB |",
            f"| index size on disk | {folder_size(kb_dir) / 2**20:.1f} MB (Chroma "
            f"{folder_size(kb_dir / 'chroma') / 2**20:.1f} MB, registry + BM25 tokens "
            f"{(kb_dir / 'registry.sqlite3').stat().st_size / 2**20:.1f} MB) |",
        ]
        report = "\n".join(lines) + "\n"
    out = PROJECT_ROOT / "eval" / "results" / f"{dt.date.today()}-ingest.md"
    out.write_text(report, encoding="utf-8")
    print(report)
    print(f"written to {out}")


if __name__ == "__main__":
    main()
