"""The evaluation harness scores correctly, and its question sets still point at real chunks."""

from __future__ import annotations

import pytest

from eval.harness import load_questions
from eval.scoring import Expected, first_hit_rank, retrieval_summary
from support.corpus_refs import locators, resolve


def test_first_hit_rank_matches_source_suffix_and_exact_locator():
    expected = [Expected("corpus-public/law.md", "第四条")]
    ranked = [("/x/corpus-public/law.md", "第三条"), ("/x/other/law.md", "第四条"), ("/x/corpus-public/law.md", "第四条")]
    assert first_hit_rank(ranked, expected) == 3
    assert first_hit_rank(ranked[:2], expected) is None


def test_summary_metrics():
    s = retrieval_summary([1, 2, None, 5, 7])
    assert s["hit@1"] == pytest.approx(0.2)
    assert s["hit@5"] == pytest.approx(0.6)
    assert s["mrr"] == pytest.approx((1 + 1 / 2 + 1 / 5 + 1 / 7) / 5)


def test_every_expected_chunk_of_the_retrieval_set_exists():
    questions = load_questions("retrieval")
    assert len(questions) >= 60
    assert len({q["id"] for q in questions}) == len(questions)
    checked = 0
    for q in questions:
        for e in q["expected"]:
            path = resolve(e["source"])
            if path is None:  # shared/ not beside this checkout
                continue
            assert e["locator"] in locators(path), (q["id"], e)
            checked += 1
    assert checked > 0


def test_percentile_is_nearest_rank():
    from eval.scoring import percentile

    assert percentile([3.0, 1.0, 2.0], 0.5) == 2.0
    assert percentile(list(range(1, 101)), 0.95) == 95
    assert percentile([7.0], 0.95) == 7.0
