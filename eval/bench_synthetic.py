"""Synthetic knowledge bases for `geohazard bench`'s retrieval latency at 1k/10k/100k chunks.

Synthetic chunks: embedding 100k texts with the real model would take hours on 2 cores, so each synthetic chunk
recombines 2-4 sentences of real corpus chunks and its vector is the normalised, length-weighted mean of the
already computed vectors of the chunks those sentences come from (read back from the KB's Chroma collection).
They enter a real KnowledgeBase through its public add_document(), with an Embeddings object that returns the
precomputed vectors for those texts (queries are still embedded by the real model).
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import numpy as np
from langchain_core.embeddings import Embeddings

SYNTHETIC_VERSION = "syn-v1"
_SENTENCE_END = "。！？；!?\n"


def split_sentences(text: str, min_chars: int = 8) -> list[str]:
    """Sentences (ending at 。！？； or a line break) of at least `min_chars` characters, stripped."""
    out, start = [], 0
    for i, ch in enumerate(text):
        if ch in _SENTENCE_END:
            piece = text[start:i + 1].strip()
            if len(piece) >= min_chars:
                out.append(piece)
            start = i + 1
    tail = text[start:].strip()
    if len(tail) >= min_chars:
        out.append(tail)
    return out


def synthetic_chunks(sources: list[tuple[str, np.ndarray]], n: int, seed: int = 0, sentences: tuple[int, int] = (2, 4),
                     max_chars: int = 400) -> list[tuple[str, np.ndarray]]:
    """`n` synthetic (text, unit vector) pairs: each text joins 2-4 random corpus sentences (at most `max_chars`
    characters), its vector is the normalised mean of its sentences' source-chunk vectors, weighted by length."""
    pool = [(i, s) for i, (text, _) in enumerate(sources) for s in split_sentences(text)]
    if not pool:
        raise ValueError("no sentences in the source chunks")
    vectors = np.asarray([v for _, v in sources], dtype=np.float32)
    rng = np.random.default_rng(seed)
    out: list[tuple[str, np.ndarray]] = []
    for _ in range(n):
        count = int(rng.integers(sentences[0], sentences[1] + 1))
        picks = rng.integers(0, len(pool), size=count)
        parts, owners, weights, length = [], [], [], 0
        for p in picks:
            owner, sentence = pool[int(p)]
            if parts and length + len(sentence) > max_chars:
                break
            parts.append(sentence)
            owners.append(owner)
            weights.append(len(sentence))
            length += len(sentence)
        vec = np.average(vectors[owners], axis=0, weights=weights)
        vec = vec / (np.linalg.norm(vec) or 1.0)
        out.append(("".join(parts)[:max_chars], vec.astype(np.float32)))
    return out


# ---- synthetic knowledge bases -------------------------------------------------------------------------------
class PrecomputedEmbeddings(Embeddings):
    """Vectors for known passage texts come from a table; queries (and unknown texts) use the real model."""

    def __init__(self, real: Embeddings):
        self.real = real
        self.table: dict[str, list[float]] = {}

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        missing = [t for t in texts if t not in self.table]
        fresh = dict(zip(missing, self.real.embed_documents(missing))) if missing else {}
        return [self.table.get(t) or fresh[t] for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self.real.embed_query(text)


def corpus_vectors(kb) -> list[tuple[str, np.ndarray]]:
    """(chunk text, stored vector) for every chunk of a knowledge base."""
    return [(chunk.text, np.asarray(vec, dtype=np.float32)) for chunk, vec in kb.stored_vectors()]


def synthetic_kb(size: int, sources: list[tuple[str, np.ndarray]], cache_dir: Path, settings, embeddings: Embeddings,
                 log=print, per_doc: int = 500) -> tuple[Path, dict]:
    """A real knowledge-base directory of `size` synthetic chunks, built once per (sources, size) and cached.
    `embeddings` (the real model) embeds queries; the passages' vectors are precomputed."""
    from app.index.store import index_text
    from app.pipeline import Copilot
    from app.schema import Chunk, Page, RawDoc

    digest = hashlib.sha256(SYNTHETIC_VERSION.encode())
    for text, vec in sources:
        digest.update(text.encode())
        digest.update(np.round(vec, 4).tobytes())
    directory = cache_dir / f"kb-{size}-{digest.hexdigest()[:12]}"
    marker = directory / "complete.json"
    if marker.exists():
        return directory, json.loads(marker.read_text())
    import shutil

    shutil.rmtree(directory, ignore_errors=True)
    start = time.perf_counter()
    items = synthetic_chunks(sources, size, seed=size)
    precomputed = PrecomputedEmbeddings(embeddings)
    kb = Copilot(settings, directory, embeddings=precomputed).kb
    for first in range(0, size, per_doc):
        doc_no = first // per_doc
        source = f"synthetic/doc{doc_no:04d}.txt"
        title = f"合成资料{doc_no:04d}"
        chunks, offset = [], 0
        for i, (text, _) in enumerate(items[first:first + per_doc]):
            chunks.append(Chunk(f"syn{size}-{first + i:06d}", source, title, "synthetic", f"第{i + 1}段",
                                f"第{i + 1}段", text, offset, offset + len(text)))
            offset += len(text) + 1
        precomputed.table = {index_text(c): vec.tolist() for c, (_, vec) in zip(chunks, items[first:first + per_doc])}
        body = "\n".join(c.text for c in chunks)
        kb.add_document(RawDoc(source, title, "synthetic", (Page(body),),
                               sha256=hashlib.sha256(body.encode()).hexdigest()), chunks)
        if doc_no % 20 == 19:
            log(f"  合成知识库 / synthetic KB {size}: {first + len(chunks)} chunks")
    meta = {"chunks": kb.chunk_count(), "build_s": round(time.perf_counter() - start, 1),
            "source_chunks": len(sources), "method": SYNTHETIC_VERSION}
    kb.close()
    marker.write_text(json.dumps(meta))
    return directory, meta
