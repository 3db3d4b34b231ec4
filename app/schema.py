"""Plain records the stages hand each other: RawDoc → Chunk → Hit → Answer."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Page:
    """A span of a document's text; `number` is the 1-based PDF page, or None for flowing text."""

    text: str
    number: int | None = None
    ocr: bool = False  # the text was read by OCR from the page image (no usable text layer)


@dataclass(frozen=True)
class RawDoc:
    source: str  # path as given by the user (absolute)
    title: str
    doc_type: str  # regulation | plan | standard | report | case | card
    pages: tuple[Page, ...]
    meta: dict = field(default_factory=dict)  # front matter: issuer, date, region, status, sources
    sha256: str = ""
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Chunk:
    chunk_id: str
    source: str
    title: str
    doc_type: str
    locator: str  # 第二十九条 / 3.3.2 / 一、基本情况
    heading_path: str  # 第四章 地质灾害应急 > 第二十九条
    text: str  # the passage as shown to the user and the model
    char_start: int
    char_end: int
    page_start: int | None = None
    page_end: int | None = None
    ocr: bool = False  # some of the text was read by OCR (the locator then ends in （OCR）)
    # the document's own metadata (app/ingest/meta.py: issuer, region, dates, family …); at query time the
    # retriever adds its version status (现行/已修订/已废止) and a note on whose rule it is
    meta: dict = field(default_factory=dict, compare=False, hash=False)

    def metadata(self) -> dict:
        """Flat metadata for Chroma (no None values allowed there; the nested `meta` stays in the registry)."""
        meta = {k: v for k, v in asdict(self).items() if k not in ("text", "meta")}
        return {k: ("" if v is None else v) for k, v in meta.items()}


@dataclass(frozen=True)
class Hit:
    rank: int
    chunk: Chunk
    score: float
    dense_rank: int | None = None
    lexical_rank: int | None = None

    def to_json(self) -> dict:
        return {"rank": self.rank, **_chunk_json(self.chunk), "score": round(self.score, 6)}


@dataclass(frozen=True)
class Citation:
    n: int
    chunk: Chunk

    def to_json(self) -> dict:
        return {"n": self.n, **_chunk_json(self.chunk)}


def _chunk_json(c: Chunk) -> dict:
    return {"chunk_id": c.chunk_id, "source": c.source, "title": c.title, "locator": c.locator,
            "page": _page_label(c), "text": c.text, "meta": dict(c.meta)}


def _page_label(chunk: Chunk) -> str:
    if chunk.page_start is None:
        return ""
    if chunk.page_end in (None, chunk.page_start):
        return f"第{chunk.page_start}页"
    return f"第{chunk.page_start}-{chunk.page_end}页"
