"""`geohazard bench`, ingest throughput: corpus files into a fresh knowledge base as text and as PDFs made from the
same text (eval/pdfgen.py: embedded CJK font), timed as pages/s, chunks/s and files/s."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path



def paginate(text: str, width: int = 38, lines_per_page: int = 32) -> list[list[str]]:
    """Text laid out as PDF pages: lines wrapped at `width` characters, `lines_per_page` lines a page."""
    lines = []
    for raw in text.splitlines():
        raw = raw.strip().lstrip("#").strip()
        while raw:
            lines.append(raw[:width])
            raw = raw[width:]
    return [lines[i:i + lines_per_page] for i in range(0, len(lines), lines_per_page)] or [[""]]


def bench_ingest(settings, files: list[Path], log=print) -> dict:
    from app.ingest.load import load_file
    from app.pipeline import Copilot

    out = {}
    with tempfile.TemporaryDirectory(prefix="geohazard-bench-ingest-") as tmp:
        tmp = Path(tmp)
        sets = {"text": (files, len(files))}
        try:
            from eval import pdfgen

            pdf_dir, pages = tmp / "pdf", 0
            pdf_dir.mkdir()
            pdfs = []
            for f in files:
                doc = load_file(f, 50 * 2**20)
                layout = paginate("\n".join(p.text for p in doc.pages))
                pdfs.append(pdfgen.make_pdf(pdf_dir / f"{f.stem}.pdf", layout))
                pages += len(layout)
            sets["pdf"] = (pdfs, pages)
        except ImportError as exc:
            log(f"  PDF 跳过 / PDF skipped (needs the test extras: {exc})")
        for kind, (paths, pages) in sets.items():
            copilot = Copilot(settings, tmp / f"kb-{kind}")
            copilot.retrieve("预热")  # registry, Chroma and the embedding model load outside the timing
            start = time.perf_counter()
            results = copilot.ingest(paths)
            seconds = time.perf_counter() - start
            done = [r for r in results if r.status == "added"]
            chunks = sum(r.chunks for r in done)
            size = sum(Path(p).stat().st_size for p in paths)
            out[kind] = {"files": len(done), "failed": sum(1 for r in results if not r.ok), "pages": pages,
                         "chunks": chunks, "seconds": seconds, "mb": size / 2**20,
                         "pages_per_s": pages / seconds, "chunks_per_s": chunks / seconds,
                         "files_per_s": len(done) / seconds}
            log(f"  ingest {kind}: {len(done)} files, {pages} pages, {chunks} chunks in {seconds:.1f} s")
            copilot.kb.close()
    return out
