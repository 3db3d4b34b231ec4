"""Issue 18, searchable in seconds: an upload is BM25-searchable as soon as it is parsed, its vectors follow in
the background, and a kill while they are written leaves it searchable with its vectors completed on the next
open. Real PDF, real Chroma, real e5, real BM25."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.config import PROJECT_ROOT, load_settings
from app.pipeline import Copilot
from app.index.embed import E5Embeddings
from app.index.store import KnowledgeBase
from app.retrieve.hybrid import LEXICAL_ONLY, RetrievalParams, retrieve
from app.ingest.chunk import chunk_document
from app.ingest.load import load_file
from eval.bench_ingest import paginate
from eval.pdfgen import make_pdf
from support.offline import offline_env, offline_prefix

pytestmark = pytest.mark.offline
PUBLIC = PROJECT_ROOT.parent / "shared" / "corpus-public"
TESTS = Path(__file__).parent
SOURCES = ["tufashijian_yingduifa_2024.md", "guojia_tufashijian_zongti_yingji_yuan_2025.md",
           "dizhizaihai_fangzhi_tiaoli_2003.md", "fanghongfa_2016.md", "qixiangzaihai_fangyu_tiaoli_2017.md"]


def _text() -> str:
    paths = [PUBLIC / name for name in SOURCES] if (PUBLIC / SOURCES[0]).exists() else \
        sorted((PROJECT_ROOT / "corpus").rglob("*.md"))
    return "\n".join(p.read_text(encoding="utf-8") for p in paths)


def _consistent(kb) -> None:
    dense, lexical = kb.index_ids()
    assert dense == lexical and {d.status for d in kb.documents()} == {"ready"}


def test_a_50_page_pdf_is_searchable_within_seconds_and_its_vectors_follow(tmp_path):
    pages = paginate(_text())[:50]
    assert len(pages) == 50
    pdf = make_pdf(tmp_path / "plan.pdf", pages)
    copilot = Copilot(load_settings(), tmp_path / "kb")
    copilot.retrieve("预热")  # registry, Chroma, e5 and jieba load outside the timing, as in a running server
    start = time.perf_counter()
    result = copilot.ingest([pdf], background=True)[0]
    hits, _ = copilot.retrieve("地质灾害预报由谁发布？", k=5)
    searchable_s = time.perf_counter() - start
    print(f"50-page PDF: {result.chunks} chunks, searchable after {searchable_s:.2f} s")
    assert result.status == "added" and hits
    assert searchable_s < 6  # 1.5 s measured on 2 busy cores; the target is 2 s
    assert all(h.chunk.title.endswith(LEXICAL_ONLY) and h.dense_rank is None for h in hits)  # sources say so
    assert copilot.kb.lexical_sources() == [result.path]
    assert copilot.kb.documents()[0].status == "lexical"
    copilot.vector_worker.close()  # completing 280 vectors takes ~1.5 min on 2 cores; the next test does it


CHILD = """
import sys, time
from pathlib import Path
from app.config import load_settings
from app.pipeline import Copilot
copilot = Copilot(load_settings(), Path(sys.argv[1]))
copilot.vector_worker.progress = lambda source, stored, total: print(f"vectors {stored}/{total}", flush=True)
copilot.ingest([Path(sys.argv[2])], background=True)
print("lexical", flush=True)
time.sleep(600)
"""


def test_killed_while_vectors_are_written_the_upload_stays_searchable_and_completes_on_open(tmp_path):
    pages = paginate(_text())
    n = 8
    while n < len(pages) and len(chunk_document(load_file(make_pdf(tmp_path / "plan.pdf", pages[:n]), 10**8),
                                                load_settings().chunk_max_chars)) <= 40:
        n += 4  # more than one batch of vectors (32), whichever corpus the text comes from
    pdf = tmp_path / "plan.pdf"
    kb_dir = tmp_path / "kb"
    env = offline_env({**os.environ, "PYTHONPATH": f"{PROJECT_ROOT}{os.pathsep}{TESTS}"})
    proc = subprocess.Popen(list(offline_prefix()) + [sys.executable, "-c", CHILD, str(kb_dir), str(pdf)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env, cwd=PROJECT_ROOT)
    try:
        seen = []
        for line in proc.stdout:
            seen.append(line.strip())
            stored, _, total = line.partition(" ")[2].strip().partition("/")
            if line.startswith("vectors") and 0 < int(stored) < int(total):
                break  # some vectors stored, not all: kill inside the background write
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
    assert "lexical" in seen, seen

    settings = load_settings()
    kb = KnowledgeBase(kb_dir, E5Embeddings(settings.n_threads))  # the KB as opened, before any completion
    docs = kb.documents()
    assert len(docs) == 1 and docs[0].chunk_count > 0 and docs[0].status == "lexical"
    dense, lexical = kb.index_ids()
    assert 0 < len(dense) < len(lexical) == docs[0].chunk_count  # all of it in BM25, some vectors, never half
    hits = retrieve(kb, "地质灾害预报由谁发布？", RetrievalParams(top_k=3))
    assert hits and hits[0].chunk.source == docs[0].source and hits[0].chunk.title.endswith(LEXICAL_ONLY)
    kb.close()
    copilot = Copilot(settings, kb_dir)  # the next open completes the vectors in the background
    assert copilot.wait_for_vectors(timeout=600)
    _consistent(copilot.kb)
    assert len(copilot.kb.index_ids()[0]) == docs[0].chunk_count
    hits, _ = copilot.retrieve("地质灾害预报由谁发布？", k=3)
    assert not any(h.chunk.title.endswith(LEXICAL_ONLY) for h in hits) and hits[0].dense_rank is not None
