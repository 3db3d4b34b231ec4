"""Lexical side: jieba tokens and a BM25 index over them (bm25s, sparse matrices)."""

from __future__ import annotations

import re
from functools import lru_cache

import bm25s
import numpy as np

# Domain terms jieba would otherwise split; each also stays searchable by its parts (cut_for_search).
DOMAIN_TERMS = (
    "地质灾害", "险情", "灾情", "特大型", "大型", "中型", "小型", "危险区", "隐患点", "群测群防",
    "群测群防员", "叫醒叫应", "避险转移", "转移避险", "应急响应", "应急预案", "气象风险预警",
    "泥石流", "滑坡", "崩塌", "地面塌陷", "地裂缝", "地面沉降", "速报", "续报", "终报", "值班信息",
    "会商研判", "受威胁", "直接经济损失", "潜在经济损失", "雨量阈值", "前缘鼓胀", "后缘拉裂",
)
_STRUCTURE = re.compile(r"第[一二三四五六七八九十百千零〇两\d]+[编章节条款项]|\d+(?:\.\d+)+")
_KEEP = re.compile(r"[\w\u4e00-\u9fff]")
_STOP = frozenset("的 了 和 与 或 及 等 在 是 为 对 由 将 把 被 其 之 以 于 并 而 也 都 就 有 这 那 个 中 上 下".split())


@lru_cache(maxsize=1)
def _jieba():
    import jieba

    jieba.setLogLevel(60)
    for term in DOMAIN_TERMS:
        jieba.add_word(term, freq=20000)
    return jieba


def tokenize(text: str) -> list[str]:
    """Search tokens: jieba's fine-grained cut plus whole structure ids (第二十九条, 3.3.2)."""
    tokens = [t.lower() for t in _jieba().cut_for_search(text) if _KEEP.search(t)]
    tokens = [t for t in tokens if t not in _STOP]
    tokens.extend(m.group(0) for m in _STRUCTURE.finditer(text))
    return tokens


def build_bm25(token_lists: list[list[str]]) -> bm25s.BM25:
    index = bm25s.BM25()
    if token_lists:
        index.index([t or ["∅"] for t in token_lists], show_progress=False)
    return index


def search_bm25(index: bm25s.BM25, n_docs: int, query_tokens: list[str], k: int) -> list[tuple[int, float]]:
    """Top-k (row, score) pairs with a positive score, best first."""
    if n_docs == 0 or not query_tokens:
        return []
    scores = np.asarray(index.get_scores(query_tokens), dtype=np.float32)
    k = min(k, len(scores))
    top = np.argpartition(-scores, k - 1)[:k]
    top = top[np.argsort(-scores[top], kind="stable")]
    return [(int(i), float(scores[i])) for i in top if scores[i] > 0]
