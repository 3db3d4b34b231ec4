"""`geohazard bench`: the pure parts (synthetic corpus, ratios, report) and the synthetic knowledge base going
through the real KnowledgeBase with precomputed vectors (no model is loaded here)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from langchain_core.embeddings import Embeddings

from app.index.store import KnowledgeBase
from eval import bench, bench_ingest, bench_synthetic
from eval.bench_report import bench_report

SOURCES = [
    ("滑坡前缘出现鼓胀裂缝。后缘拉裂缝不断加宽！坡体上的树木歪斜。", np.array([1.0, 0.0, 0.0], np.float32)),
    ("泥石流沟上游降雨量大时，应向沟岸两侧高处跑。不要顺沟方向往上游或下游跑。", np.array([0.0, 1.0, 0.0], np.float32)),
    ("受威胁人数在500人以上的为大型险情；直接经济损失在1000万元以上的为特大型灾情。", np.array([0.0, 0.0, 1.0], np.float32)),
]


def test_split_sentences_drops_fragments():
    assert bench_synthetic.split_sentences("第一句话很完整。短。第三句也足够长吧？尾巴没有句号但够长") == [
        "第一句话很完整。", "第三句也足够长吧？", "尾巴没有句号但够长"]


def test_synthetic_chunks_recombine_corpus_sentences_with_mean_vectors():
    items = bench_synthetic.synthetic_chunks(SOURCES, 50, seed=3)
    assert len(items) == 50
    again = bench_synthetic.synthetic_chunks(SOURCES, 50, seed=3)
    assert all(a[0] == b[0] and np.allclose(a[1], b[1]) for a, b in zip(items, again))  # deterministic
    sentences = {s for text, _ in SOURCES for s in bench_synthetic.split_sentences(text)}
    for text, vec in items:
        assert math.isclose(float(np.linalg.norm(vec)), 1.0, rel_tol=1e-5)
        assert len(text) <= 400 and any(s in text for s in sentences)
        assert text.startswith(tuple(sentences))
    # one-sentence-source chunk: its vector is exactly that source's vector
    single = bench_synthetic.synthetic_chunks([SOURCES[0]], 5, seed=1)
    assert all(np.allclose(v, [1, 0, 0]) for _, v in single)


def test_ratio_math():
    assert bench.overhead_ratio(11.0, 10.0) == pytest.approx(0.10)
    assert bench.overhead_ratio(9.5, 10.0) == pytest.approx(-0.05)
    assert math.isnan(bench.overhead_ratio(1.0, 0.0))
    assert bench.decode_rate(21, 1.0, 2.0) == pytest.approx(20.0)
    assert bench.decode_rate(1, 1.0, 2.0) is None and bench.decode_rate(5, None, 2.0) is None
    assert bench.common_prefix([1, 2, 3, 4], [1, 2, 9]) == 2
    assert bench.percentile([5.0, 1.0, 3.0, 2.0, 4.0], 0.95) == 5.0


def test_paginate():
    pages = bench_ingest.paginate("# 标题\n" + "字" * 100, width=30, lines_per_page=2)
    assert pages[0] == ["标题", "字" * 30] and pages[1] == ["字" * 30, "字" * 30] and pages[2] == ["字" * 10]


class _FakeReal(Embeddings):
    def __init__(self):
        self.documents = 0

    def embed_documents(self, texts):
        self.documents += len(texts)
        return [[0.0, 0.0, 1.0] for _ in texts]

    def embed_query(self, text):
        return [0.0, 1.0, 0.0]


def test_precomputed_embeddings_use_the_table_and_fall_back():
    real = _FakeReal()
    emb = bench_synthetic.PrecomputedEmbeddings(real)
    emb.table = {"甲": [1.0, 0.0, 0.0]}
    assert emb.embed_documents(["甲", "乙"]) == [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]
    assert real.documents == 1 and emb.embed_query("q") == [0.0, 1.0, 0.0]


def test_synthetic_kb_is_a_real_consistent_knowledge_base_and_is_cached(tmp_path):
    from app.config import load_settings

    def build():
        return bench_synthetic.synthetic_kb(45, SOURCES, tmp_path, load_settings(), _FakeReal(), log=lambda m: None,
                                            per_doc=20)

    directory, meta = build()
    assert meta["chunks"] == 45
    again, meta2 = build()
    assert again == directory and meta2 == meta  # built once
    kb = KnowledgeBase(directory, _FakeReal())
    dense, lexical = kb.index_ids()
    assert dense == lexical and len(dense) == 45 and len(kb.documents()) == 3
    top = kb.dense_search("泥石流往哪跑", 3)  # the fake query vector is the 泥石流 source's vector
    texts = kb.get_chunks([cid for cid, _ in top])
    assert any("沟" in texts[cid].text for cid, _ in top)
    assert kb.lexical_search("泥石流", 5)
    kb.close()


def _results():
    return {
        "date": "2026-11-25", "model": "qwen1.5b", "n_threads": 2, "command": "geohazard bench",
        "machine": {"cpu": "Test CPU", "cores": 2, "flags": ["avx2", "avx512f"], "python": "3.11",
                    "memory_gb": 24, "load_avg_start": [1.0, 1.0, 1.0]},
        "serving": {"model_load_s": 1.5, "peak_rss_mb": 2100.0},
        "llm": {"ttft": {v: {"cold_s": [9.0, 8.0], "sequence_s": [9.0, 6.0], "prompt_tokens": [900, 800],
                             "reused_tokens": [0, 290]} for v in ("legacy", "compact")},
                "rows": [{"question": "问？", "retrieve_s": 0.02, "ours_first_token_s": 4.5, "ours_total_s": 10.4,
                          "ours_tokens": 60, "raw_first_token_s": 4.4, "raw_total_s": 10.0, "raw_tokens": 60,
                          "same_generation": True, "ours_tokens_per_s": 20.0, "raw_tokens_per_s": 20.5,
                          "overhead": 0.04}],
                "draft": {"num_pred_tokens": 10, "logits_buffer_mb": 2374.0,
                          "rows": [{"question": "问？", "plain_tokens_per_s": 8.0, "draft_tokens_per_s": 10.0,
                                    "plain_first_token_s": 4.0, "draft_first_token_s": 5.0, "plain_total_s": 10.0,
                                    "draft_total_s": 11.0, "same_text": True}]}},
        "retrieval": {"1000": {"chunks": 1000, "queries": 88, "p50_ms": 20.0, "p95_ms": 30.0, "dense_p50_ms": 8.0,
                               "lexical_p50_ms": 2.0, "first_query_s": 0.5, "build_s": 10.0},
                      "100000": {"chunks": 100000, "queries": 88, "p50_ms": 60.0, "p95_ms": 120.0,
                                 "dense_p50_ms": 10.0, "lexical_p50_ms": 40.0, "first_query_s": 9.0, "build_s": 600}},
        "ingest": {"pdf": {"files": 2, "failed": 0, "pages": 10, "chunks": 30, "seconds": 5.0, "mb": 0.1,
                           "pages_per_s": 2.0, "chunks_per_s": 6.0, "files_per_s": 0.4}},
        "upload": {"pages": 50, "chunks": 120, "ingest_returned_s": 1.2, "lexically_searchable_s": 1.3,
                   "found_by_keywords": True, "vectors_s": 40.0, "dense_chunks_per_s": 3.0,
                   "embedding_chunks_per_s": 3.4, "dense_vs_embedding": 3.0 / 3.4},
    }


def test_report_marks_targets_and_describes_the_machine():
    report = bench_report(_results())
    assert "Test CPU, 2 cores" in report and "avx512f" in report
    assert "| peak RSS of the serving process | 2100 MB | ≤ 3072 MB ✓ |" in report
    assert "≤ 5 s ✓" in report and "+4.0 %" in report and "≤ 10 % ✓" in report
    assert "| retrieval p50 / p95 at 100,000 chunks | 60.0 / 120.0 ms | p95 ≤ 100 ms ✗ |" in report
    assert "| before (v5 block) | 850 | 8.50 s | 9.00 s | 6.00 s | 290 |" in report
    assert "| pdf | 2 (0 failed) | 10 | 30 | 5.0 | 2.00 | 6.0 | 0.10 |" in report
    assert "| upload → lexically searchable, 50-page text PDF | 1.30 s | ≤ 2 s ✓ |" in report
    assert "3.0 vs 3.4 chunks/s (0.88×) | ≥ 0.8× ✓ |" in report
    assert "| 问？ | 8.0 | 10.0 | 4.00 | 5.00 | 10.00 | 11.00 | yes |" in report and "(2374 MB here)" in report
    assert "Median decode speed: 8.0 → 10.0 tokens/s (1.25×); same text in 1 of 1." in report
