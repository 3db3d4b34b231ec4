"""Ingest as the composition root runs it: files → load → chunk → both indexes, one result per file, with the
operator warned about passages that give orders (they are never shown to the model as evidence)."""

from __future__ import annotations

import sys
import time
from dataclasses import replace
from pathlib import Path

from app.config import Settings
from app.index.store import DocInfo, KnowledgeBase
from app.index.vectors import VectorWorker, complete_vectors
from app.ingest.chunk import chunk_document
from app.ingest.errors import IngestError
from app.ingest.files import IngestResult, expand_paths
from app.ingest.load import SUPPORTED, load_file
from app.ingest.ocr import OcrOptions
from app.reason.injection import has_injection

# Bump when loading or chunking changes what a document's passages are (table rows as chunks, PDF tables, …): every
# stored document then counts as changed and is re-read on its next ingest, re-embedding only the passages whose
# text changed (store.add_lexical). Stored with the file's SHA-256 as the document's fingerprint.
PARSE_VERSION = 2


def fingerprint(file_sha256: str) -> str:
    """What the registry stores for a document: its file's SHA-256 and the parser version that read it."""
    return f"{file_sha256}:p{PARSE_VERSION}"


def ingest_into(kb: KnowledgeBase, settings: Settings, paths: list[Path], progress: bool, on_ocr_page=None,
                worker: VectorWorker | None = None) -> list[IngestResult]:
    """Load (OCR where a page has no usable text), chunk and index each file (folders expanded); one result per
    file, failures included. With a vector `worker`, each document is searchable by keywords as soon as it is
    parsed and the worker completes its vectors; without, both indexes hold it when this returns."""
    from tqdm import tqdm

    files = expand_paths(paths)
    results: list[IngestResult] = []
    start, total_chunks = time.perf_counter(), 0
    bar = tqdm(files, desc="导入 ingest", unit="file", disable=not progress or len(files) < 2, file=sys.stderr)
    for path, named in bar:
        result = _ingest_one(kb, settings, path, named, _ocr_options(settings, path, progress, on_ocr_page), worker)
        results.append(result)
        total_chunks += result.chunks if result.status in ("added", "updated") else 0
        elapsed = max(time.perf_counter() - start, 1e-6)
        bar.set_postfix_str(f"{len(results) / elapsed:.2f} files/s, {total_chunks / elapsed:.1f} chunks/s")
    return results


def _ocr_options(settings: Settings, path: Path, progress: bool, on_ocr_page) -> OcrOptions:
    def report(done: int, total: int, page: int, seconds: float) -> None:
        if on_ocr_page is not None:
            on_ocr_page(str(path), done, total, page, seconds)
        elif progress:
            print(f"OCR {path.name}: 第{page}页 ({done}/{total}) {seconds:.1f} s", file=sys.stderr)

    return OcrOptions(threads=settings.n_threads, on_page=report, enabled=settings.ocr, max_pages=settings.ocr_max_pages)


def _ingest_one(kb: KnowledgeBase, settings: Settings, path: Path, named: bool, ocr: OcrOptions | None = None,
                worker: VectorWorker | None = None) -> IngestResult:
    if not named and path.suffix.lower() not in SUPPORTED:
        return IngestResult(str(path), "skipped", message=f"跳过不支持的类型 / skipped type {path.suffix}")
    if not named and path.is_symlink():  # a link in an untrusted folder could pull in any readable file
        return IngestResult(str(path), "skipped",
                            message="跳过文件夹中的符号链接 / skipped symbolic link inside a folder")
    if not path.exists():
        return IngestResult(str(path), "failed", message="文件不存在 / file not found")
    try:
        doc = load_file(path, int(settings.max_file_mb * 2**20), ocr=ocr)
        doc = replace(doc, sha256=fingerprint(doc.sha256))
        if not kb.needs_update(doc.source, doc.sha256):
            return IngestResult(doc.source, "unchanged", message="未变化 / unchanged")
        existed = any(d.source == doc.source for d in kb.documents())
        chunks = chunk_document(doc, settings.chunk_max_chars)
        if not chunks:
            raise IngestError("没有切分出任何段落", "no chunks produced")
        flagged = sum(has_injection(c.text) for c in chunks)
        if flagged:  # such passages are withheld from the model (reason/injection.py); the operator is told
            doc = replace(doc, warnings=doc.warnings + (
                f"{flagged} 段含有疑似指令注入的语句，不会作为证据交给模型 / {flagged} passages contain suspected "
                "prompt-injection text and are never given to the model as evidence",))
        kb.add_lexical(doc, chunks)
        if worker is not None:
            worker.kick()
        else:
            complete_vectors(kb, doc.source)
    except IngestError as exc:
        return IngestResult(str(path), "failed", message=str(exc))
    return IngestResult(doc.source, "updated" if existed else "added", len(chunks), "", list(doc.warnings))


def retire_same_title(kb: KnowledgeBase, source: str, folder: Path) -> list[str]:
    """Remove from both indexes (and from `folder`, the upload folder) earlier uploads with the same document
    title as the one just ingested at `source`: a document uploaded again under another name is a new version,
    never a second copy beside it. Returns the file names retired."""
    documents = kb.documents()
    new = next((d for d in documents if d.source == source), None)
    if new is None or not new.title:
        return []
    retired = []
    for d in documents:
        if d.source != source and d.title == new.title and Path(d.source).parent == Path(folder).resolve():
            kb.remove(d.source)
            Path(d.source).unlink(missing_ok=True)
            retired.append(Path(d.source).name)
    return retired


def reindex(kb: KnowledgeBase, settings: Settings, sources: list[str] | None = None, progress=None
            ) -> list[tuple[DocInfo, IngestResult | None]]:
    """Re-read and re-index documents from their files (all by default): (document, result) each, result None
    when the file is gone (its old index is kept). `progress(i, total, title)` before each."""
    docs = [d for d in kb.documents() if sources is None or d.source in sources]
    out: list[tuple[DocInfo, IngestResult | None]] = []
    for i, doc in enumerate(docs):
        if progress is not None:
            progress(i, len(docs), doc.title)
        if not Path(doc.source).is_file():
            out.append((doc, None))
            continue
        kb.remove(doc.source)
        out.append((doc, ingest_into(kb, settings, [Path(doc.source)], progress=False)[0]))
    return out
