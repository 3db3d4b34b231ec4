"""`geohazard bench`, ingest throughput: corpus files into a fresh knowledge base as text and as PDFs made from the
same text (eval/pdfgen.py: embedded CJK font), timed as pages/s, chunks/s and files/s; and an upload (issue 18):
a 50-page text PDF until it is lexically searchable, its background vectors against the embedding model's own rate."""

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


UPLOAD_PAGES = 50


def bench_upload(settings, files: list[Path], log=print) -> dict:
    """A 50-page text PDF ingested with background vectors (the web upload path): seconds until `ingest`
    returns and a phrase from its last page is found by keyword search, seconds until its vectors are stored,
    and the dense throughput (chunks/s) against `embed_documents` on the same passages alone."""
    from app.ingest.load import load_file
    from eval import pdfgen

    text = "\n".join(p.text for f in files for p in load_file(f, 50 * 2**20).pages)
    layout = paginate(text)
    while len(layout) < UPLOAD_PAGES:
        layout = layout + layout
    layout = layout[:UPLOAD_PAGES]
    with tempfile.TemporaryDirectory(prefix="geohazard-bench-upload-") as tmp:
        pdf = pdfgen.make_pdf(Path(tmp) / "upload-50-pages.pdf", layout)
        return _timed_upload(settings, pdf, layout, Path(tmp) / "kb", log)


def _timed_upload(settings, pdf: Path, layout: list[list[str]], kb_dir: Path, log) -> dict:
    from app.index.store import index_text
    from app.pipeline import Copilot

    probe = next((line for line in reversed(layout[-1]) if len(line) >= 12), layout[-1][0])
    copilot = Copilot(settings, kb_dir)
    copilot.retrieve("预热")  # registry, Chroma and the embedding model load outside the timing
    copilot.vector_worker  # its thread starts outside the timing
    start = time.perf_counter()
    results = copilot.ingest([pdf], background=True)
    returned_s = time.perf_counter() - start
    hits, _ = copilot.retrieve(probe, mode="lexical")
    searchable_s = time.perf_counter() - start
    found = bool(hits) and all(r.ok for r in results)  # the knowledge base holds this one document
    copilot.wait_for_vectors()
    vectors_s = time.perf_counter() - start - returned_s
    chunks = copilot.kb.chunks_of(hits[0].chunk.source) if hits else []
    texts = [index_text(c) for c in chunks]
    t0 = time.perf_counter()
    for i in range(0, len(texts), 32):  # the batch size of the background worker
        copilot.embeddings.embed_documents(texts[i:i + 32])  # the model the worker used
    embed_s = time.perf_counter() - t0
    copilot.kb.close()
    if not chunks:
        raise RuntimeError(f"upload benchmark: the PDF was not found by keywords ({results})")
    row = {"pages": len(layout), "chunks": len(chunks), "ingest_returned_s": returned_s,
           "lexically_searchable_s": searchable_s, "found_by_keywords": found, "vectors_s": vectors_s,
           "dense_chunks_per_s": len(chunks) / vectors_s, "embedding_chunks_per_s": len(chunks) / embed_s}
    row["dense_vs_embedding"] = row["dense_chunks_per_s"] / row["embedding_chunks_per_s"]
    log(f"  upload {len(layout)} pages: searchable after {searchable_s:.2f} s (found: {found}); vectors "
        f"{vectors_s:.1f} s, {row['dense_chunks_per_s']:.1f} chunks/s against {row['embedding_chunks_per_s']:.1f} "
        f"chunks/s embedding alone ({row['dense_vs_embedding']:.2f}×)")
    return row
