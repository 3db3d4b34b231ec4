"""The naive baseline (eval/baselines/naive.py) and the scoring shared with ours: chunking, prompt, citation
parsing, and that both pipelines' answers go through the same scoring functions."""

from __future__ import annotations

import json

import pytest
from langchain_core.documents import Document

from app.reason.citations import REFUSAL
from eval import harness as ev
from eval import report as eval_report
from eval import scoring as eval_scoring
from eval.baselines import naive

QUESTION = {"id": "a1", "kind": "fact", "category": "regulation", "question": "逾期不改正的罚多少钱？",
            "facts": [["10万元", "十万元"], ["50万元"]],
            "sources": [{"source": "corpus/law.md", "locator": "第四十一条"}]}


class FakeStore:
    def __init__(self, docs):
        self.docs = docs

    def similarity_search(self, question, k=4):
        return self.docs[:k]


def _split(text, locators="第四十一条", source="/repo/corpus/law.md"):
    return Document(page_content=text, metadata={"source": source, "title": "某条例", "split_id": "s1",
                                                 "start_index": 0, "locators": locators})


def test_tutorial_splitter_500_50_records_offsets_and_the_chunks_each_split_holds():
    text = "".join(f"第{i}句讲的是一件与地质灾害有关的事情，内容较长以便切分。" for i in range(60))
    spans = {"/x.md": [(0, 400, "第一条"), (400, len(text), "第二条")]}
    splits = naive.split_documents([Document(page_content=text, metadata={"source": "/x.md", "title": "t"})], spans)
    assert len(splits) > 2
    assert all(len(s.page_content) <= naive.CHUNK_SIZE for s in splits)
    first, second = splits[0], splits[1]
    assert text[first.metadata["start_index"]:].startswith(first.page_content)
    assert second.metadata["start_index"] < first.metadata["start_index"] + len(first.page_content)  # overlap
    assert first.metadata["locators"].split("|")[0] == "第一条"
    assert "第二条" in splits[-1].metadata["locators"]


def test_overlap_rule():
    spans = [(0, 100, "甲"), (100, 1000, "乙"), (1000, 1010, "丙")]
    assert naive.overlapping_locators(0, 500, spans) == ["甲", "乙"]
    assert naive.overlapping_locators(960, 1010, spans) == ["丙"]  # 40 chars of 乙 are not enough
    assert naive.overlapping_locators(2000, 2500, spans) == []


def test_plain_prompt_numbers_sources_and_asks_for_the_refusal_phrase():
    msgs = naive.build_messages("问什么？", [_split("甲内容"), _split("乙内容")])
    assert REFUSAL in msgs[0]["content"] and "[n]" in msgs[0]["content"]
    assert "[1] 甲内容\n\n[2] 乙内容" in msgs[1]["content"]
    assert msgs[1]["content"].endswith("问题：问什么？")


def test_cited_numbers():
    assert naive.cited_numbers("甲[2]。乙[1][2]。丙[7]。", 4) == ([2, 1], ["[7]"])


def _baseline(fake_llm, reply, docs):
    rag = naive.NaiveRAG("/nonexistent", embeddings=None, llm=fake_llm(reply), max_tokens=64)
    rag.store = FakeStore(docs)
    return rag


def test_baseline_answer_is_scored_by_the_same_functions(fake_llm):
    docs = [_split("第四十一条 逾期不改正的，处10万元以上50万元以下的罚款。"), _split("无关内容。", "第一条")]
    result = _baseline(fake_llm, "处10万元以上50万元以下的罚款[1]。", docs).answer(QUESTION["question"])
    assert result.cited == [1] and result.timings["first_token_s"] is not None
    payload, text = ev.baseline_payload(result, QUESTION["question"])
    row = eval_scoring.score_answer(QUESTION, payload, text, 1.5)
    assert row["refused"] is False and row["facts_found"] == 2 and row["citation_valid"] is True
    assert row["unsupported"] == 0 and row["score"] == 1.0


def test_baseline_fabricated_number_counts_as_unsupported(fake_llm):
    docs = [_split("逾期不改正的，处以罚款。")]
    result = _baseline(fake_llm, "罚款为80万元[1]。", docs).answer("罚多少？")
    payload, text = ev.baseline_payload(result, "罚多少？")
    assert payload["unsupported_sentences"] == 1


def test_baseline_refusal_detected_by_the_phrase(fake_llm):
    refusal_q = {"id": "n1", "kind": "refusal", "category": "refusal", "question": "烤面包？"}
    result = _baseline(fake_llm, "资料中未找到依据。", [_split("无关。")]).answer("烤面包？")
    payload, text = ev.baseline_payload(result, "烤面包？")
    row = eval_scoring.score_answer(refusal_q, payload, text, 0.5)
    assert row["refused"] is True and row["score"] == 1.0 and payload["citations"] == []


def test_our_payload_goes_through_the_same_scoring():
    payload = {"answer": "处10万元以上50万元以下的罚款[1]。", "refused": False, "invalid_citations": [],
               "unsupported_sentences": 0, "citations": [{"n": 1, "source": "/r/corpus/law.md", "locator": "第四十一条"}]}
    row = eval_scoring.score_answer(QUESTION, payload, payload["answer"], 2.0)
    assert row["facts_found"] == 2 and row["citation_valid"] is True


@pytest.mark.parametrize("text,ok", [
    ("这处险情为中型，应启动Ⅲ级响应[1]。", True),
    ("属于特大型，启动Ⅰ级响应。", False),
    ("为中型险情。", False),  # response level missing
])
def test_grade_from_text_when_there_is_no_assessment(text, ok):
    q = {"kind": "grade", "expected": {"grade": "中型", "response_level": "Ⅲ级"}, "facts": [["中型"], ["Ⅲ级", "三级"]]}
    assert eval_scoring.grade_correct({"refused": False}, text, q) is ok


def test_grade_none_expected_from_text():
    q = {"kind": "grade", "expected": {"grade": None}, "facts": [["人数"], ["无法"]]}
    assert eval_scoring.grade_correct({"refused": False}, "缺少人数，暂时无法定级。", q)
    assert not eval_scoring.grade_correct({"refused": False}, "定为中型。", q)


def test_ratio_and_direction():
    assert eval_scoring.ratio(0.9, 0.6) == "1.50×"
    assert eval_scoring.ratio(0.0, 0.0) == "1.00×" and eval_scoring.ratio(0.2, 0.0) == "∞"
    assert eval_scoring.ratio(None, 0.5) == "–"
    assert eval_scoring.ahead("fact_recall", 0.9, 0.6) == "✓"
    assert eval_scoring.ahead("false_refusal_rate", 0.02, 0.10) == "✓"
    assert eval_scoring.ahead("latency_p50_s", 20.0, 10.0) == "✗"
    assert eval_scoring.ahead("citation_validity", 0.5, 0.5) == "="


def _rows(scores):
    return [{"id": f"q{i}", "kind": "fact", "category": cat, "question": "问", "refused": False, "seconds": s,
             "facts_found": f, "facts": 1, "citation_valid": True, "citations": 1, "invalid_citations": 0,
             "unsupported": 0, "sentences": 1, "answer": "答|案", "score": float(f)}
            for i, (cat, f, s) in enumerate(scores)]


def test_report_shows_both_columns_ratio_and_categories(tmp_path):
    ours = _rows([("card", 1, 10.0), ("case", 1, 12.0)])
    base = _rows([("card", 1, 5.0), ("case", 0, 6.0)])
    results = {"date": "2026-11-25", "model": "m", "rows": ours, "summary": eval_scoring.answers_summary(ours),
               "categories": eval_scoring.category_scores(ours),
               "baseline": {"name": "naive", "rows": base, "summary": eval_scoring.answers_summary(base),
                            "categories": eval_scoring.category_scores(base)}}
    report = eval_report.answers_report(results)
    assert "| fact_recall | 1.000 | 0.500 | 2.00× | ✓ |" in report
    assert "| case | 1 | 1.000 | 0.000 |" in report
    assert "| fact | ours | 2 | 12.0 s | 12.0 s | – | – |" in report and "| fact | baseline | 2 | 6.0 s |" in report
    assert "## Baseline: per question" in report and "答\\|案" in report
    written = eval_report.write_results(results, report, "answers", out_dir=tmp_path)
    for name in ("2026-11-25-answers.json", "2026-11-25-answers-latency.png", "2026-11-25-answers-categories.png"):
        assert (tmp_path / name).stat().st_size > 0
    assert written.read_text(encoding="utf-8") == report


def test_retrieval_report_with_baseline_row_and_plots(tmp_path):
    rows = [{"id": "r1", "question": "问", "category": "card", "hybrid": 1, "hybrid_ms": 20.0, "baseline": None,
             "baseline_ms": 15.0},
            {"id": "r2", "question": "问", "category": "case", "hybrid": 2, "hybrid_ms": 25.0, "baseline": 3,
             "baseline_ms": 16.0}]
    modes = {"hybrid": {**eval_scoring.retrieval_summary([1, 2]), "latency_p50_ms": 20.0, "latency_p95_ms": 25.0},
             "baseline": {**eval_scoring.retrieval_summary([None, 3]), "latency_p50_ms": 15.0, "latency_p95_ms": 16.0}}
    results = {"date": "2026-11-25", "kb_chunks": 10, "skipped": [], "modes": modes, "rows": rows,
               "baseline": "naive"}
    report = eval_report.retrieval_report(results)
    assert "| baseline | 0.000 | 0.500 | 0.167 |" in report and "mrr 4.50×" in report
    assert "| case | 1.000 | 1.000 |" in report
    eval_report.write_results(results, report, "retrieval", out_dir=tmp_path)
    assert (tmp_path / "2026-11-25-retrieval-latency.png").stat().st_size > 0
    assert (tmp_path / "2026-11-25-retrieval-categories.png").stat().st_size > 0


def test_split_keys_and_multi_rank():
    expected = [eval_scoring.Expected("corpus/law.md", "第四十一条")]
    ranked = [eval_scoring.split_keys(_split("x", "第一条")),
              eval_scoring.split_keys(_split("y", "第四十条|第四十一条"))]
    assert eval_scoring.first_hit_rank_multi(ranked, expected) == 2
    assert eval_scoring.first_hit_rank_multi(ranked[:1], expected) is None


def test_reports_set_a_rerun_against_the_previous_report(tmp_path):
    """A re-run shows whether the committed numbers were reproduced and which questions changed."""
    before = _rows([("card", 1, 10.0), ("case", 1, 12.0)])
    now = _rows([("card", 1, 11.0), ("case", 0, 12.5)])
    for row in before:  # reports written before rows carried their score
        del row["score"]
    for date, rows in (("2026-11-20", now), ("2026-11-25", before), ("2026-12-01", now)):
        (tmp_path / f"{date}-answers.json").write_text(json.dumps(
            {"date": date, "summary": eval_scoring.answers_summary(rows), "rows": rows}), encoding="utf-8")
    (tmp_path / "2026-11-26-bench-qwen1.5b.json").write_text("{}", encoding="utf-8")
    name, previous = eval_report.previous_results("answers", "2026-11-29", tmp_path)
    assert name == "2026-11-25-answers.json"  # the newest up to today; later dates and other suites ignored
    results = {"date": "2026-11-29", "model": "m", "rows": now, "summary": eval_scoring.answers_summary(now)}
    report = eval_report.answers_report(results, (name, previous))
    assert "## Against the previous run (2026-11-25-answers.json)" in report
    assert "| fact_recall | 1.000 | 0.500 | -0.500 |" in report
    assert "Questions whose outcome changed: 1: q1 (1.00 → 0.00)" in report
    assert eval_report.previous_results("answers", "2026-11-01", tmp_path) is None


def test_a_tagged_run_is_compared_with_the_newest_run_of_its_suite(tmp_path):
    """`--tag avx` (another llama.cpp build) has no run of its own yet: it is compared with the run before it,
    whatever that run's tag."""
    rows = _rows([("card", 1, 10.0)])
    for name, finished in (("2026-12-07-answers.json", 1.0), ("2026-12-07-answers-native.json", 3.0),
                           ("2026-12-07-answers-rerun.json", 2.0), ("2026-12-08-answers.json", 4.0)):
        (tmp_path / name).write_text(json.dumps({"date": name[:10], "finished_at": finished, "rows": rows,
                                                 "summary": eval_scoring.answers_summary(rows)}), encoding="utf-8")
    name, _ = eval_report.previous_results("answers-avx", "2026-12-07", tmp_path)
    assert name == "2026-12-07-answers-native.json"
    (tmp_path / "2026-12-07-answers-avx.json").write_text(json.dumps({"date": "2026-12-07", "rows": rows}),
                                                         encoding="utf-8")
    assert eval_report.previous_results("answers-avx", "2026-12-07", tmp_path)[0] == "2026-12-07-answers-avx.json"
