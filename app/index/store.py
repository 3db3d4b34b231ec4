"""The knowledge base: a SQLite registry (documents, chunks, tokens) + Chroma (dense) + BM25 (lexical).

SQLite is the source of truth. A document is written in steps: mark it `pending` (and drop its old rows and
vectors), insert its chunks and mark it `lexical` in one transaction (BM25-searchable from then on), then add
its vectors in batches and mark it `ready` (app/index/vectors.py, possibly in the background). Opening the KB
removes whatever a killed writer left `pending` from both indexes; a `lexical` document keeps its chunks and its
vectors are completed after the open. A file is thus fully in both indexes, or fully in the lexical one with
its vectors on the way, or absent.

Chroma is either embedded (`<kb>/chroma/`, collection "chunks") or a Chroma server (`chroma_url`). With a
server, the registry and the BM25 tokens still live in the KB directory (the one source of truth, shared by
every app instance that uses this KB), and the server holds only the vectors, in a collection named after
the KB's identity: a random id stored in the registry on first open (see `collection_name`). Two KBs thus
never share a collection on one server, and a KB keeps its collection wherever its directory is mounted.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import sqlite3
import sys
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from app.errors import ServiceError
from app.index.embed import E5Embeddings
from app.index.lexical import build_bm25, search_bm25, tokenize
from app.index.vectors import complete_vectors, lexical_sources
from app.ingest.variants import fold
from app.schema import Chunk, RawDoc

COLLECTION = "chunks"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS docs (
    source TEXT PRIMARY KEY, sha256 TEXT, title TEXT, doc_type TEXT, meta TEXT,
    status TEXT, chunk_count INTEGER, ingested_at REAL, warnings TEXT
);
CREATE TABLE IF NOT EXISTS chunks (
    chunk_id TEXT PRIMARY KEY, source TEXT, ord INTEGER, data TEXT, tokens TEXT
);
CREATE INDEX IF NOT EXISTS chunks_source ON chunks(source);
CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT);
"""


@dataclass(frozen=True)
class DocInfo:
    source: str
    title: str
    doc_type: str
    chunk_count: int
    ingested_at: float
    status: str
    warnings: list[str]


def index_text(chunk: Chunk) -> str:
    """What both indexes see: the document title and heading path give an article its context; traditional
    characters folded to simplified (the chunk itself keeps its text as written)."""
    return fold(f"{chunk.title}\n{chunk.heading_path}\n{chunk.text}")


class KnowledgeBase:
    def __init__(self, directory: Path, embeddings: E5Embeddings, chroma_url: str | None = None):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._embeddings = embeddings
        self._db = sqlite3.connect(self.directory / "registry.sqlite3", check_same_thread=False)
        self._db.executescript(_SCHEMA)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self.chroma_url = chroma_url or None
        if self.chroma_url:
            self.collection_name = collection_name(self.directory, self._kb_id())
            self._vectors = _open_chroma_server(self.chroma_url, self.collection_name, embeddings)
        else:
            self.collection_name = COLLECTION
            self._vectors = _open_chroma(self.directory / "chroma", embeddings)
        self._lexical: tuple[int, object, list[str]] | None = None  # (version, bm25, row → chunk_id)
        self.repair()

    def _kb_id(self) -> str:
        """This KB's identity, created once and kept in the registry (so it travels with the directory)."""
        with self._db:
            self._db.execute("INSERT OR IGNORE INTO kv VALUES ('kb_id', ?)", (uuid.uuid4().hex,))
        return self._db.execute("SELECT value FROM kv WHERE key='kb_id'").fetchone()[0]

    # ---- writing -------------------------------------------------------------------------------
    def needs_update(self, source: str, sha256: str) -> bool:
        """A `lexical` document is up to date: its vectors are being completed (vectors.py)."""
        row = self._db.execute("SELECT sha256, status FROM docs WHERE source=?", (source,)).fetchone()
        return row is None or row[0] != sha256 or row[1] not in ("ready", "lexical")

    def add_document(self, doc: RawDoc, chunks: list[Chunk]) -> None:
        """Replace the document's chunks in both indexes, as one unit: lexical first, then its vectors."""
        self.add_lexical(doc, chunks)
        complete_vectors(self, doc.source)

    def add_lexical(self, doc: RawDoc, chunks: list[Chunk]) -> None:
        """Replace the document's chunks in the registry and BM25 at once (status `lexical`, searchable now);
        its old vectors go, except those of passages whose id and indexed text are unchanged (a re-ingest after
        an edit, or after a parser upgrade, embeds only what changed); the new ones follow (vectors.py)."""
        with self._write_lock():
            keep = self._reusable_vectors(chunks)
            self._mark_pending(doc.source)
            stale = [i for i in self._vectors.get(where={"source": doc.source}, include=[])["ids"] if i not in keep]
            if stale:
                self._vectors.delete(ids=stale)
            if keep:  # same text, possibly a new page or locator: the registry is the truth, Chroma's copy follows
                kept = [c for c in chunks if c.chunk_id in keep]
                self._vectors._collection.update(ids=[c.chunk_id for c in kept],
                                                 metadatas=[c.metadata() for c in kept])
            with self._db:
                self._db.executemany(
                    "INSERT OR REPLACE INTO chunks VALUES (?,?,?,?,?)",
                    [
                        (c.chunk_id, c.source, i, json.dumps(c.__dict__, ensure_ascii=False),
                         " ".join(tokenize(index_text(c))))
                        for i, c in enumerate(chunks)
                    ],
                )
                self._db.execute(
                    "UPDATE docs SET sha256=?, title=?, doc_type=?, meta=?, status=?, chunk_count=?,"
                    " ingested_at=?, warnings=? WHERE source=?",
                    (doc.sha256, doc.title, doc.doc_type, json.dumps(doc.meta, ensure_ascii=False, default=str),
                     "lexical" if chunks else "ready", len(chunks), time.time(),
                     json.dumps(list(doc.warnings), ensure_ascii=False), doc.source),
                )
                self._bump_version()

    def _reusable_vectors(self, chunks: list[Chunk]) -> set[str]:
        """Ids among `chunks` whose stored vector was computed from exactly the text they would be indexed by."""
        if not chunks:
            return set()
        wanted = {c.chunk_id: index_text(c) for c in chunks}
        got = self._vectors.get(ids=list(wanted), include=["documents"])
        return {i for i, text in zip(got["ids"], got["documents"]) if wanted.get(i) == text}

    def lexical_sources(self) -> list[str]:
        """Documents searchable by BM25 whose vectors are not all stored yet."""
        return lexical_sources(self._db)

    @staticmethod
    def chunk_from_json(data: str) -> Chunk:
        return Chunk(**json.loads(data))

    def remove(self, source: str) -> bool:
        if self._db.execute("SELECT 1 FROM docs WHERE source=?", (source,)).fetchone() is None:
            return False
        with self._write_lock():
            self._mark_pending(source)
            self._drop(source)
        return True

    def repair(self) -> list[str]:
        """Remove every half-written document (a writer killed mid-way) from both indexes.

        Runs under the write lock, so a document another app instance is writing right now is not taken
        for an abandoned one. Also drops documents whose vectors are missing from the dense index (e.g. a
        KB first built with embedded Chroma and now opened against a server) and vectors the registry does
        not know; both are named on stderr. Returns the sources removed.
        """
        with self._write_lock():
            pending = [r[0] for r in self._db.execute("SELECT source FROM docs WHERE status='pending'")]
            for source in pending:
                self._drop(source)
            return pending + self._reconcile()

    def _reconcile(self) -> list[str]:
        n_registry = self.chunk_count()
        if self._vectors._collection.count() == n_registry:
            return []
        dense, registry = self.index_ids()
        stray = sorted(dense - registry)
        if stray:
            self._vectors.delete(ids=stray)
        missing = registry - dense
        waiting = set(self.lexical_sources())  # their vectors are still to come
        rows = self._db.execute("SELECT chunk_id, source FROM chunks")
        sources = sorted({source for chunk_id, source in rows if chunk_id in missing and source not in waiting})
        for source in sources:
            self._drop(source)
        if stray or sources:
            where = self.chroma_url or "embedded Chroma"
            print(f"知识库与向量库不一致，已修复 / KB {self.directory} and {where} disagreed: removed "
                  f"{len(stray)} unknown vectors and {len(sources)} documents without vectors "
                  f"(re-ingest them): {', '.join(sources)}", file=sys.stderr)
        return sources

    def _mark_pending(self, source: str) -> None:
        with self._db:
            self._db.execute(
                "INSERT INTO docs (source, status) VALUES (?, 'pending')"
                " ON CONFLICT(source) DO UPDATE SET status='pending'",
                (source,),
            )
            self._db.execute("DELETE FROM chunks WHERE source=?", (source,))
            self._bump_version()

    def _drop(self, source: str) -> None:
        self._vectors.delete(where={"source": source})
        with self._db:
            self._db.execute("DELETE FROM chunks WHERE source=?", (source,))
            self._db.execute("DELETE FROM docs WHERE source=?", (source,))
            self._bump_version()

    def _bump_version(self) -> None:
        self._db.execute(
            "INSERT INTO kv VALUES ('version', '1') ON CONFLICT(key) DO UPDATE SET value=value+1"
        )

    @contextmanager
    def _write_lock(self):
        with open(self.directory / ".write.lock", "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    # ---- reading -------------------------------------------------------------------------------
    def version(self) -> int:
        row = self._db.execute("SELECT value FROM kv WHERE key='version'").fetchone()
        return int(row[0]) if row else 0

    def documents(self) -> list[DocInfo]:
        rows = self._db.execute(
            "SELECT source, title, doc_type, chunk_count, ingested_at, status, warnings FROM docs ORDER BY source"
        )
        return [
            DocInfo(r[0], r[1] or "", r[2] or "", r[3] or 0, r[4] or 0.0, r[5], json.loads(r[6] or "[]"))
            for r in rows
        ]

    def doc_metas(self) -> dict[str, dict]:
        """source → the document's metadata (app/ingest/meta.py) with its title and type, ready documents only."""
        rows = self._db.execute("SELECT source, title, doc_type, meta FROM docs WHERE status='ready'")
        return {r[0]: {**_json_dict(r[3]), "title": r[1] or "", "doc_type": r[2] or ""} for r in rows}

    def index_ids(self) -> tuple[set[str], set[str]]:
        """Chunk ids held by the dense index and by the registry/lexical index; equal when consistent."""
        dense = set(self._vectors.get(include=[])["ids"])
        lexical = {r[0] for r in self._db.execute("SELECT chunk_id FROM chunks")}
        return dense, lexical

    def chunk_count(self) -> int:
        return self._db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]

    def get_chunks(self, chunk_ids: list[str]) -> dict[str, Chunk]:
        if not chunk_ids:
            return {}
        marks = ",".join("?" * len(chunk_ids))
        rows = self._db.execute(f"SELECT chunk_id, data FROM chunks WHERE chunk_id IN ({marks})", chunk_ids)
        return {cid: Chunk(**json.loads(data)) for cid, data in rows}

    def chunks_of(self, source: str) -> list[Chunk]:
        rows = self._db.execute("SELECT data FROM chunks WHERE source=? ORDER BY ord", (source,))
        return [Chunk(**json.loads(r[0])) for r in rows]

    def section(self, chunk_id: str) -> list[Chunk]:
        """All chunks of the article/section `chunk_id` belongs to, in document order (long articles are split)."""
        chunk = self.get_chunks([chunk_id]).get(chunk_id)
        if chunk is None:
            return []
        return [c for c in self.chunks_of(chunk.source) if c.heading_path == chunk.heading_path]

    def stored_vectors(self) -> list[tuple[Chunk, list[float]]]:
        """(chunk, its stored dense vector) for every chunk in both indexes (benchmarks build on them)."""
        got = self._vectors.get(include=["embeddings"])
        chunks = self.get_chunks(list(got["ids"]))
        return [(chunks[cid], vec) for cid, vec in zip(got["ids"], got["embeddings"]) if cid in chunks]

    def dense_search(self, query: str, k: int, sources: list[str] | None = None) -> list[tuple[str, float]]:
        """(chunk_id, cosine similarity), best first; only chunks of `sources` when given."""
        n = self.chunk_count()
        if n == 0 or sources == []:
            return []
        where = {"source": {"$in": list(sources)}} if sources else None
        found = self._vectors.similarity_search_with_score(fold(query), k=min(k, n), filter=where)
        return [(doc.id, 1.0 - float(distance)) for doc, distance in found]  # cosine distance → similarity

    def dense_search_vector(self, vector: list[float], k: int) -> list[tuple[str, float]]:
        """As dense_search, for a query already embedded (benchmarks time the embedding and the search apart)."""
        n = self.chunk_count()
        if n == 0:
            return []
        found = self._vectors.similarity_search_by_vector_with_relevance_scores(vector, k=min(k, n))
        return [(doc.id, 1.0 - float(distance)) for doc, distance in found]

    def lexical_search(self, query: str, k: int, sources: list[str] | None = None) -> list[tuple[str, float]]:
        """(chunk_id, BM25 score), best first; only chunks of `sources` when given."""
        _, index, ids = self._lexical_index()
        if sources is None:
            return [(ids[row], score) for row, score in search_bm25(index, len(ids), tokenize(fold(query)), k)]
        rows = {r[0] for r in self._db.execute(
            f"SELECT chunk_id FROM chunks WHERE source IN ({','.join('?' * len(sources))})", list(sources))}
        found = search_bm25(index, len(ids), tokenize(fold(query)), len(ids))
        return [(ids[row], score) for row, score in found if ids[row] in rows][:k]

    def _lexical_index(self):
        version = self.version()
        if self._lexical is None or self._lexical[0] != version:
            rows = self._db.execute("SELECT chunk_id, tokens FROM chunks ORDER BY source, ord").fetchall()
            ids = [r[0] for r in rows]
            self._lexical = (version, build_bm25([r[1].split() for r in rows]), ids)
        return self._lexical

    def close(self) -> None:
        self._db.close()


def _json_dict(text: str | None) -> dict:
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def collection_name(directory: Path, kb_id: str) -> str:
    """Server collection of a KB: `kb-<ascii part of the directory name>-<kb id>`, valid for Chroma."""
    slug = re.sub(r"[^a-zA-Z0-9]+", "-", Path(directory).name).strip("-")[:40]
    return f"kb-{slug}-{kb_id[:16]}" if slug else f"kb-{kb_id[:16]}"


def _wrap(client, name: str, embeddings: E5Embeddings):
    from langchain_chroma import Chroma

    return Chroma(
        collection_name=name,
        embedding_function=embeddings,
        client=client,
        collection_metadata={"hnsw:space": "cosine"},
    )


def _open_chroma(path: Path, embeddings: E5Embeddings):
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    client = chromadb.PersistentClient(
        path=str(path), settings=ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    )
    return _wrap(client, COLLECTION, embeddings)


class VectorStoreError(ServiceError):
    """The Chroma server is unreachable or refused us."""


def _open_chroma_server(url: str, name: str, embeddings: E5Embeddings):
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    parts = urlsplit(url if "://" in url else f"http://{url}")
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/"):
        raise VectorStoreError(f"GEOHAZARD_CHROMA_URL 应形如 http://host:port / expected http://host:port: {url}")
    ssl = parts.scheme == "https"
    try:
        client = chromadb.HttpClient(
            host=parts.hostname, port=parts.port or (443 if ssl else 8000), ssl=ssl,
            settings=ChromaSettings(anonymized_telemetry=False),
        )
        return _wrap(client, name, embeddings)
    except Exception as exc:  # chromadb raises plain ValueError/ConnectionError/httpx errors here
        raise VectorStoreError(f"无法连接向量库服务 / cannot reach the Chroma server at {url}: {exc}") from exc
