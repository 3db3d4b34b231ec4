"""The bundled knowledge base: enough documents, complete front matter, structure the chunker can follow."""

from __future__ import annotations

import re

import pytest

from app.config import PROJECT_ROOT
from eval.harness import SHARED_PUBLIC
from app.ingest.chunk import chunk_document
from app.ingest.load import load_file

CORPUS = sorted((PROJECT_ROOT / "corpus").rglob("*.md"))
REQUIRED = {"issuer", "date", "region", "status", "sources"}


def test_corpus_has_at_least_40_documents_and_15_cases():
    docs = [load_file(p, 50 * 2**20) for p in CORPUS]
    assert len(docs) >= 40
    assert sum(1 for d in docs if d.doc_type == "case") >= 15


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.name)
def test_each_document_has_front_matter_and_clean_chunks(path):
    doc = load_file(path, 50 * 2**20)
    assert doc.title and doc.doc_type in {"card", "regulation", "plan", "case", "report", "standard"}
    assert REQUIRED <= doc.meta.keys(), REQUIRED - doc.meta.keys()
    assert doc.meta["status"] in {"现行", "已废止", "已被替代"}
    assert doc.meta["sources"]
    body = "\n".join(p.text for p in doc.pages)
    assert not re.search(r"\[\d+\]|\[来源", body), "bracket markers collide with citation markers"
    chunks = chunk_document(doc)
    assert chunks and all(c.locator for c in chunks)


@pytest.mark.skipif(not SHARED_PUBLIC.is_dir(), reason="../shared/corpus-public not beside this checkout")
def test_real_regulation_article_29_is_one_chunk():
    doc = load_file(SHARED_PUBLIC / "dizhizaihai_fangzhi_tiaoli_2003.md", 50 * 2**20)
    chunks = [c for c in chunk_document(doc) if c.locator == "第二十九条"]
    assert len(chunks) == 1
    assert chunks[0].text.startswith("第二十九条") and chunks[0].text.endswith("可以强行组织避灾疏散。")
    assert chunks[0].heading_path == "地质灾害防治条例 > 第四章 地质灾害应急 > 第二十九条"
