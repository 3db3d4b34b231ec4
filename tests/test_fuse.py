import pytest

from app.retrieve.fuse import fuse_rankings


def test_item_found_by_both_retrievers_outranks_single_list_leaders():
    dense = ["a", "b", "c"]
    lexical = ["c", "d", "a"]
    fused = [item for item, _ in fuse_rankings([dense, lexical], k=60)]
    # a: 1/61 + 1/63, c: 1/63 + 1/61 (tie, broken by best rank then first appearance), then b, d
    assert fused == ["a", "c", "b", "d"]


def test_scores_are_reciprocal_rank_sums():
    fused = dict(fuse_rankings([["x", "y"], ["y"]], k=10))
    assert fused["x"] == pytest.approx(1 / 11)
    assert fused["y"] == pytest.approx(1 / 12 + 1 / 11)


def test_weights_shift_the_order_and_duplicates_count_once():
    fused = [i for i, _ in fuse_rankings([["a", "a", "b"], ["b"]], k=1, weights=[3.0, 1.0])]
    assert fused == ["a", "b"]
    with pytest.raises(ValueError):
        fuse_rankings([["a"]], weights=[1.0, 2.0])


def test_empty_rankings_give_nothing():
    assert fuse_rankings([[], []]) == []
