"""Dense vectors after the fact: a document is searchable by BM25 as soon as it is parsed (registry status
`lexical`); its vectors are computed here in batches and it becomes `ready` when all are stored.

Crash safety: vectors are only ever added for chunk ids the registry holds for a `lexical` document, under the
KB's write lock, so a kill leaves the document `lexical` with some of its vectors; the next open completes the
rest (`VectorWorker` or `complete_vectors`). A document replaced or removed meanwhile is left alone.
"""

from __future__ import annotations

import sqlite3
import sys
import threading
from collections.abc import Callable

# (source, vectors stored, chunks in the document) → None, after each batch
VectorProgress = Callable[[str, int, int], None]


def lexical_sources(db: sqlite3.Connection) -> list[str]:
    return [r[0] for r in db.execute("SELECT source FROM docs WHERE status='lexical' ORDER BY ingested_at")]


def complete_vectors(kb, source: str | None = None, progress: VectorProgress | None = None,
                     batch: int = 32, stop: threading.Event | None = None) -> list[str]:
    """Embed and store the missing vectors of `source` (default: every `lexical` document); returns the sources
    made `ready`. Embedding runs outside the write lock, so ingest and queries go on meanwhile."""
    from app.index.store import index_text

    db = sqlite3.connect(kb.directory / "registry.sqlite3", timeout=30)  # this thread's own connection
    done = []
    try:
        for src in ([source] if source else lexical_sources(db)):
            rows = db.execute("SELECT c.chunk_id, c.data FROM chunks c JOIN docs d ON d.source=c.source"
                              " WHERE c.source=? AND d.status='lexical' ORDER BY c.ord", (src,)).fetchall()
            if not rows:
                continue
            have = set(kb._vectors.get(where={"source": src}, include=[])["ids"])
            todo = [(cid, data) for cid, data in rows if cid not in have]
            stored = len(rows) - len(todo)
            if progress is not None:
                progress(src, stored, len(rows))
            for i in range(0, len(todo), batch):
                if stop is not None and stop.is_set():
                    return done
                part = [kb.chunk_from_json(data) for _, data in todo[i:i + batch]]
                vectors = kb._embeddings.embed_documents([index_text(c) for c in part])
                with kb._write_lock():
                    live = {r[0] for r in db.execute(
                        "SELECT c.chunk_id FROM chunks c JOIN docs d ON d.source=c.source"
                        " WHERE c.source=? AND d.status='lexical'", (src,))}
                    keep = [(c, v) for c, v in zip(part, vectors) if c.chunk_id in live]
                    if len(keep) < len(part):  # replaced or removed meanwhile: its new version has its own turn
                        break
                    kb._vectors._collection.upsert(
                        ids=[c.chunk_id for c, _ in keep], embeddings=[v for _, v in keep],
                        metadatas=[c.metadata() for c, _ in keep], documents=[index_text(c) for c, _ in keep])
                stored += len(keep)
                if progress is not None:
                    progress(src, stored, len(rows))
            with kb._write_lock():
                ids = {r[0] for r in db.execute("SELECT chunk_id FROM chunks WHERE source=?", (src,))}
                have = set(kb._vectors.get(where={"source": src}, include=[])["ids"])
                if ids and ids <= have:
                    with db:  # the lexical index is unchanged: no version bump, no BM25 rebuild
                        cur = db.execute("UPDATE docs SET status='ready' WHERE source=? AND status='lexical'",
                                         (src,))
                    if cur.rowcount:
                        done.append(src)
    finally:
        db.close()
    return done


class VectorWorker:
    """One background thread completing vectors of `lexical` documents, woken by `kick()` after each upload."""

    def __init__(self, kb, progress: VectorProgress | None = None):
        self.kb = kb
        self.progress = progress
        self.state: dict[str, tuple[int, int]] = {}  # source → (vectors stored, chunks)
        self._wake = threading.Event()
        self._idle = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="vectors", daemon=True)
        self._thread.start()

    def kick(self) -> None:
        self._idle.clear()
        self._wake.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until every `lexical` document is `ready` (True) or the timeout passes (False)."""
        self.kick()
        return self._idle.wait(timeout)

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=30)

    def _report(self, source: str, stored: int, total: int) -> None:
        self.state[source] = (stored, total)
        if self.progress is not None:
            self.progress(source, stored, total)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait()
            self._wake.clear()
            try:
                for _ in range(100):  # a document replaced mid-way is picked up again on the next pass
                    made = complete_vectors(self.kb, progress=self._report, stop=self._stop)
                    if self._stop.is_set() or not (made or self.kb.lexical_sources()):
                        break
            except Exception as exc:  # the documents stay lexically searchable; the next open retries
                print(f"向量生成失败，文档仍可关键词检索 / vector completion failed: {exc}", file=sys.stderr)
            if not self._wake.is_set():
                self.state = {s: v for s, v in self.state.items() if v[0] < v[1]}
                self._idle.set()
