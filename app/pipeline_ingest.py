"""Ingest as the composition root runs it: files → load → chunk → both indexes, one result per file, with the
operator warned about passages that give orders (they are never shown to the model as evidence)."""

from __future__ import annotations

import sys
import time
from dataclasses import replace
from pathlib import Path

from app.config import Settings
from app.index.store import KnowledgeBase
from app.ingest.chunk import chunk_document
from app.ingest.errors import IngestError
from app.ingest.files import IngestResult, expand_paths
from app.ingest.load import SUPPORTED, load_file
from app.reason.injection import has_injection


def ingest_into(kb: KnowledgeBase, settings: Settings, paths: list[Path], progress: bool) -> list[IngestResult]:
    """Load, chunk and index each file (folders expanded); one result per file, failures included."""
    from tqdm import tqdm

    files = expand_paths(paths)
    results: list[IngestResult] = []
    start, total_chunks = time.perf_counter(), 0
    bar = tqdm(files, desc="导入 ingest", unit="file", disable=not progress or len(files) < 2, file=sys.stderr)
    for path, named in bar:
        result = _ingest_one(kb, settings, path, named)
        results.append(result)
        total_chunks += result.chunks if result.status in ("added", "updated") else 0
        elapsed = max(time.perf_counter() - start, 1e-6)
        bar.set_postfix_str(f"{len(results) / elapsed:.2f} files/s, {total_chunks / elapsed:.1f} chunks/s")
    return results

def _ingest_one(kb: KnowledgeBase, settings: Settings, path: Path, named: bool) -> IngestResult:
    if not named and path.suffix.lower() not in SUPPORTED:
        return IngestResult(str(path), "skipped", message=f"跳过不支持的类型 / skipped type {path.suffix}")
    if not named and path.is_symlink():  # a link in an untrusted folder could pull in any readable file
        return IngestResult(str(path), "skipped",
                            message="跳过文件夹中的符号链接 / skipped symbolic link inside a folder")
    if not path.exists():
        return IngestResult(str(path), "failed", message="文件不存在 / file not found")
    try:
        doc = load_file(path, int(settings.max_file_mb * 2**20))
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
        kb.add_document(doc, chunks)
    except IngestError as exc:
        return IngestResult(str(path), "failed", message=str(exc))
    return IngestResult(doc.source, "updated" if existed else "added", len(chunks), "",
                        list(doc.warnings))


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
