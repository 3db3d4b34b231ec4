"""The 知识库 tab's handlers (a mixin of web_handlers.Handlers: it needs `copilot`, `settings`, `ingest_lock`):
documents listed without their server paths, uploads ingested (the same name replaces; the same title retires
the older upload), removal by an opaque key, re-index."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import gradio as gr

from app.interfaces.files import public_source, redact_paths, replace_file
from app.pipeline_ingest import retire_same_title

_STATUS = {"added": "已导入", "updated": "已更新", "unchanged": "未变化", "failed": "失败", "skipped": "已跳过"}


def document_key(source: str) -> str:
    return hashlib.sha256(source.encode("utf-8")).hexdigest()[:16]


class KnowledgeBaseTab:
    def documents_table(self):
        return [[d.title, d.doc_type, d.chunk_count, time.strftime("%Y-%m-%d %H:%M", time.localtime(d.ingested_at)),
                 self._status(d), public_source(d.source)] for d in self.copilot.kb.documents()]

    def _status(self, d) -> str:
        if d.status != "lexical":
            return {"ready": "可用", "pending": "未完成"}.get(d.status, d.status)
        stored, total = self.copilot.vector_worker.state.get(d.source, (0, d.chunk_count))
        return f"可关键词检索（向量 {stored}/{total}）"

    def vectors_tick(self):
        """Every 2 s while vectors are being made: the table with their progress; the timer stops when done."""
        waiting = bool(self.copilot.kb.lexical_sources())
        return self.documents_table(), gr.Timer(active=waiting)

    def document_choices(self):
        """(label, key): the key names a document without showing where it lies on the server's disk."""
        return [(f"{d.title}（{public_source(d.source)}）", document_key(d.source)) for d in self.copilot.kb.documents()]

    def source_of(self, key: str) -> str | None:
        return next((d.source for d in self.copilot.kb.documents() if document_key(d.source) == key), None)

    def ingest_uploads(self, files, folder, progress=gr.Progress()):
        from app.ingest.uploads import safe_upload_name

        paths = [Path(f) for f in (files or [])] + [Path(f) for f in (folder or [])]
        if not paths:
            raise gr.Error("请先选择文件或文件夹 / choose files or a folder first")
        rows = []
        with self.ingest_lock:
            for i, temp in enumerate(paths):
                progress((i, len(paths)), desc=f"导入 {temp.name}", unit="个文件")
                # the same name replaces the earlier upload (a new version of it), never a second copy beside it
                target = replace_file(self.settings.uploads_dir / safe_upload_name(temp.name), temp.read_bytes())
                # searchable by keywords once parsed; the vectors follow in the background (issue 18)
                for result in self.copilot.ingest([target], background=True):
                    replaced = retire_same_title(self.copilot.kb, result.path, self.settings.uploads_dir) if result.status in ("added", "updated") else []
                    note = result.message or "；".join(result.warnings)
                    if result.status in ("added", "updated"):
                        note = "；".join(x for x in (note, "已可按关键词检索，向量在后台生成") if x)
                    if replaced:
                        note = "；".join(x for x in (note, "替换了同名文档的旧版本：" + "、".join(replaced)) if x)
                    rows.append([temp.name, _STATUS.get(result.status, result.status), result.chunks,
                                 redact_paths(note)])
        progress((len(paths), len(paths)), desc="完成")
        return (rows, self.documents_table(), gr.update(choices=self.document_choices()),
                gr.Timer(active=bool(self.copilot.kb.lexical_sources())))

    def remove_document(self, key: str | None):
        source = self.source_of(key) if key else None
        if not source:
            raise gr.Error("请先选择要移除的文档 / choose a document")
        with self.ingest_lock:
            self.copilot.kb.remove(source)
        return (self.documents_table(), gr.update(choices=self.document_choices(), value=None),
                f"已移除：{public_source(source)}")

    def reindex(self, progress=gr.Progress()):
        with self.ingest_lock:
            done = self.copilot.reindex(progress=lambda i, n, title: progress((i, n), desc=f"重建 {title}"))
        rows = [[d.title, "原文件不存在，保留旧索引", d.chunk_count, public_source(d.source)] if r is None
                else [d.title, _STATUS.get(r.status, r.status), r.chunks, redact_paths(r.message)] for d, r in done]
        return rows, self.documents_table(), gr.update(choices=self.document_choices())
