"""Evidence gate: does the retrieved evidence mention what the question is about at all?

A question whose content words are mostly absent from every retrieved passage (e.g. 地震烈度 asked of a
landslide corpus) is refused before the model can answer from memory.
"""

from __future__ import annotations

from app.index.lexical import tokenize
from app.ingest.variants import fold
from app.schema import Hit

# Question words and generic verbs that say nothing about the topic.
_GENERIC = frozenset(
    "怎么 怎样 如何 什么 哪些 哪里 哪儿 哪个 多少 多长 几 是否 吗 呢 吧 请问 请 问 一下 要 应该 应当 需要 可以 能否 能 "
    "会 有 没有 规定 要求 按照 根据 时间 时候 之内 以内 内 后 前 时 一共 共 来 去 往 做 办 进行 我们 我 你 他们 当地 "
    "情况 问题 工作 相关 有关 什么样 为什么 为何".split()
)


def question_terms(question: str) -> list[str]:
    seen: dict[str, None] = {}
    for token in tokenize(question):
        if token not in _GENERIC and not token.isdigit():
            seen.setdefault(token, None)
    return list(seen)


def evidence_coverage(question: str, hits: list[Hit]) -> tuple[float, list[str]]:
    """Share of the question's topic terms found in the evidence, and the terms not found."""
    terms = question_terms(fold(question))  # traditional and simplified characters count as the same
    if not terms:
        return 1.0, []
    evidence = fold("\n".join(f"{h.chunk.title}\n{h.chunk.heading_path}\n{h.chunk.text}" for h in hits)).lower()
    missing = [t for t in terms if t not in evidence]
    return 1 - len(missing) / len(terms), missing
