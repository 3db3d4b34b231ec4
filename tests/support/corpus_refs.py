"""Where an eval question's expected source lives, and which locators its chunks have: the question sets
(answers, retrieval, dialogues) are checked against the real chunked text."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from app.config import PROJECT_ROOT
from app.ingest.chunk import chunk_document
from app.ingest.load import load_file
from eval.harness import SHARED_PUBLIC


@lru_cache(maxsize=None)
def locators(path: Path) -> frozenset[str]:
    return frozenset(c.locator for c in chunk_document(load_file(path, 50 * 2**20)))


def resolve(source: str) -> Path | None:
    """The file of a question's source ("corpus/…" or "corpus-public/…"); None when shared/ is not beside us."""
    if source.startswith("corpus-public/"):
        path = SHARED_PUBLIC / source.split("/", 1)[1]
        return path if path.exists() else None
    return PROJECT_ROOT / source
