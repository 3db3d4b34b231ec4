"""The naive baseline: a typical LangChain tutorial RAG pipeline, run side by side with ours.

    RecursiveCharacterTextSplitter(chunk_size=500, chunk_overlap=50)
    → dense-only Chroma with the same embedding model (E5Embeddings), top-4
    → a plain "answer from the sources, cite [n]" prompt
    → the same LLM with the same generation settings (app.reason.llm.stream_chat).

Nothing of ours is in its path: no structure-aware chunks, no BM25 or fusion, no evidence gate, no rewritten
brackets, no citation checks, no claim verification, no grading engine. Its answers are scored afterwards by
the same functions as ours (eval/harness.py). Text comes from our loaders (a tutorial would use a
PDF/text loader; extraction is not what is compared).

For scoring only, every split records which of our structure-aware chunks it overlaps (`locators`), so
"cited the right article" can be judged for both pipelines on the same (source, locator) keys.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from langchain_core.documents import Document
from langchain_text_splitters import RecursiveCharacterTextSplitter

CHUNK_SIZE = 500
CHUNK_OVERLAP = 50
TOP_K = 4
NAME = "naive LangChain RAG (500/50 splits, dense top-4, plain prompt)"

SYSTEM = ("你是一个乐于助人的助手。请只根据下面提供的资料回答用户的问题，并在每句话末尾用 [n] 标注所依据资料的编号。"
          "如果资料中没有答案，请回答“资料中未找到依据”。")
USER = "资料：\n{context}\n\n问题：{question}"
_MARKER = re.compile(r"\[(\d{1,3})\]")


def splitter() -> RecursiveCharacterTextSplitter:
    return RecursiveCharacterTextSplitter(chunk_size=CHUNK_SIZE, chunk_overlap=CHUNK_OVERLAP, add_start_index=True)


def overlapping_locators(start: int, end: int, spans: list[tuple[int, int, str]]) -> list[str]:
    """Locators of our chunks that a split [start, end) holds: at least half of the chunk or 100 characters."""
    found: list[str] = []
    for c_start, c_end, locator in spans:
        overlap = min(end, c_end) - max(start, c_start)
        if overlap > 0 and (overlap >= min(100, (c_end - c_start) / 2)) and locator not in found:
            found.append(locator)
    return found


def split_documents(docs: list[Document], spans: dict[str, list[tuple[int, int, str]]] | None = None
                    ) -> list[Document]:
    """The tutorial split; each split gets `start_index` and, if spans are given, the `locators` it holds."""
    splits = splitter().split_documents(docs)
    for n, split in enumerate(splits):
        meta = split.metadata
        meta["split_id"] = f"s{n:05d}"
        if spans is not None:
            start = int(meta.get("start_index", 0))
            meta["locators"] = "|".join(overlapping_locators(start, start + len(split.page_content),
                                                             spans.get(meta["source"], [])))
    return splits


def load_documents(paths: list[Path], max_bytes: int = 50 * 2**20
                   ) -> tuple[list[Document], dict[str, list[tuple[int, int, str]]]]:
    """Every supported file under `paths` as one Document, plus our chunk spans per source (for scoring)."""
    from app.ingest.chunk import chunk_document, join_pages
    from app.ingest.errors import IngestError
    from app.ingest.load import SUPPORTED, load_file
    from app.ingest.files import expand_paths

    docs, spans = [], {}
    for path, _ in expand_paths(paths):
        if path.suffix.lower() not in SUPPORTED:
            continue
        try:
            raw = load_file(path, max_bytes)
        except IngestError:
            continue
        text, _ = join_pages(raw)
        docs.append(Document(page_content=text, metadata={"source": raw.source, "title": raw.title}))
        spans[raw.source] = [(c.char_start, c.char_end, c.locator) for c in chunk_document(raw)]
    return docs, spans


def build_messages(question: str, splits: list[Document]) -> list[dict]:
    context = "\n\n".join(f"[{n}] {d.page_content}" for n, d in enumerate(splits, start=1))
    return [{"role": "system", "content": SYSTEM},
            {"role": "user", "content": USER.format(context=context, question=question)}]


def cited_numbers(answer: str, n_sources: int) -> tuple[list[int], list[str]]:
    """[n] markers in the answer: the valid ones (first-use order) and the ones pointing at no source."""
    used, invalid = [], []
    for match in _MARKER.finditer(answer):
        n = int(match.group(1))
        if 1 <= n <= n_sources:
            if n not in used:
                used.append(n)
        else:
            invalid.append(match.group(0))
    return used, invalid


@dataclass
class BaselineAnswer:
    question: str
    answer: str
    splits: list[Document]
    cited: list[int]
    invalid_citations: list[str]
    timings: dict = field(default_factory=dict)


def fingerprint(paths: list[Path]) -> str:
    """Identifies the indexed content and settings, so a cached index is reused only when nothing changed."""
    from app.index.embed import EMBEDDING_NAME
    from app.ingest.files import expand_paths

    digest = hashlib.sha256(f"{CHUNK_SIZE}/{CHUNK_OVERLAP}/{EMBEDDING_NAME}".encode())
    for path, _ in sorted(expand_paths(paths)):
        digest.update(str(path.resolve()).encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:16]


class NaiveRAG:
    """The tutorial pipeline over a persistent Chroma directory (built once per corpus fingerprint)."""

    def __init__(self, directory: Path, embeddings, llm=None, *, max_tokens: int = 640, temperature: float = 0.0,
                 seed: int = 42):
        self.directory = Path(directory)
        self.embeddings = embeddings
        self.llm = llm
        self.max_tokens, self.temperature, self.seed = max_tokens, temperature, seed
        self.store = None

    def build(self, paths: list[Path], log=print) -> int:
        """Index `paths` unless an index of exactly this content exists; returns the number of splits."""
        from langchain_chroma import Chroma

        os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
        key = fingerprint(paths)
        target = self.directory / key
        done = target / "complete.json"
        if done.exists():
            self.store = Chroma(collection_name="naive", embedding_function=self.embeddings,
                                client=_client(target))
            return json.loads(done.read_text())["splits"]
        shutil.rmtree(target, ignore_errors=True)
        docs, spans = load_documents(paths)
        splits = split_documents(docs, spans)
        log(f"基线索引 / baseline index: {len(docs)} documents → {len(splits)} splits (embedding, once)")
        start = time.perf_counter()
        self.store = Chroma.from_documents(splits, self.embeddings, collection_name="naive",
                                           client=_client(target), ids=[d.metadata["split_id"] for d in splits])
        done.write_text(json.dumps({"splits": len(splits), "documents": len(docs),
                                    "seconds": round(time.perf_counter() - start, 1)}))
        return len(splits)

    def retrieve(self, question: str, k: int = TOP_K) -> list[Document]:
        return self.store.similarity_search(question, k=k)

    def answer(self, question: str, on_token=None) -> BaselineAnswer:
        from app.reason.llm import stream_chat

        start = time.perf_counter()
        splits = self.retrieve(question)
        retrieve_s = time.perf_counter() - start
        gen = stream_chat(self.llm, build_messages(question, splits), self.max_tokens, self.temperature,
                          self.seed, on_token=on_token)
        cited, invalid = cited_numbers(gen.text, len(splits))
        timings = {"retrieve_s": round(retrieve_s, 4),
                   "first_token_s": None if gen.first_token_s is None else round(retrieve_s + gen.first_token_s, 4),
                   "total_s": round(time.perf_counter() - start, 4), "completion_tokens": gen.completion_tokens}
        return BaselineAnswer(question, gen.text.strip(), splits, cited, invalid, timings)


def _client(path: Path):
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    return chromadb.PersistentClient(path=str(path), settings=ChromaSettings(anonymized_telemetry=False))
