"""Evidence gate: does the retrieved evidence mention what the question is about at all?

A question whose content words are mostly absent from every retrieved passage (e.g. 地震烈度 asked of a
landslide corpus) is refused before the model can answer from memory.
"""

from __future__ import annotations

import re

from app.index.lexical import tokenize
from app.ingest.variants import fold
from app.schema import Hit

# Question words and generic verbs that say nothing about the topic.
_GENERIC = frozenset(
    "怎么 怎样 如何 什么 哪些 哪里 哪儿 哪个 多少 多长 几 是否 吗 呢 吧 请问 请 问 一下 要 应该 应当 需要 可以 能否 能 "
    "会 有 没有 规定 要求 按照 根据 时间 时候 之内 以内 内 后 前 时 一共 共 来 去 往 做 办 进行 我们 我 你 他们 当地 "
    "情况 问题 工作 相关 有关 什么样 为什么 为何 哪几 几个 哪几个 几项 几种 几类 几点 几条 哪一 哪一年 哪一级 "
    "哪一个 哪个 哪种 哪类 哪项 哪条 哪位".split()
)


def question_terms(question: str) -> list[str]:
    seen: dict[str, None] = {}
    for token in tokenize(question):
        if token not in _GENERIC and not token.isdigit():
            seen.setdefault(token, None)
    return list(seen)


def _evidence_text(hits: list[Hit]) -> str:
    """Titles, headings and texts of the hits, folded to simplified characters and lower case."""
    return fold("\n".join(f"{h.chunk.title}\n{h.chunk.heading_path}\n{h.chunk.text}" for h in hits)).lower()


def evidence_coverage(question: str, hits: list[Hit]) -> tuple[float, list[str]]:
    """Share of the question's topic terms found in the evidence, and the terms not found."""
    terms = question_terms(fold(question))  # traditional and simplified characters count as the same
    if not terms:
        return 1.0, []
    evidence = _evidence_text(hits)
    missing = [t for t in terms if t not in evidence]
    return 1 - len(missing) / len(terms), missing


# The asked thing stands right before the interrogative: "该条例的起草人是谁", "那遇难者的名单呢", "…的适用范围是什么".
_ASKING_TAIL = re.compile(r"(?:分别|具体|主要|都|又|还)?(?:是谁|是哪些人|是哪位|是哪个人|是哪家|叫什么|是什么|有哪些|呢)")
_CJK_RUN = re.compile(r"[\u4e00-\u9fff]+$")
_OWNER = re.compile(r".*[的之》”那这该其]")  # the asked thing follows the last possessive or pointer
# Nouns that name the asked thing rather than give it ("…的数量" restates "多少"): the answer check's list.
ASKED_NOUNS = frozenset("数量 数目 总数 个数 人数 户数 数字 数据 数值 金额 数额 费用 面积 规模 方量 体积 时间 时限 期限 日期 "
                        "等级 级别 标准 情况 内容 信息 名单 名称 比例 频次 次数 具体 方面 事项 问题 结果".split())
# Nouns that only name an attribute in general ("…的标准是什么"): the evidence states it without the word. 名单 is
# not one of them: a list of names is asked for by that word (see _NAME_WORDS).
_ATTRIBUTE_NOUNS = (ASKED_NOUNS - {"名单"}) | frozenset(
    "要求 规定 措施 办法 做法 程序 流程 原因 依据 意思 含义 定义 范围 条件 区别 作用 目的 特点 方式 "
    # adverbs and conditionals that can stand before the interrogative
    "到底 究竟 如果 只是 要是 假如 那么 现在 目前 一般 通常".split())
# Words for a list of people: any one of them in the evidence will do.
_NAME_WORDS = ("名单", "姓名", "名字")


def _focus_phrase(question: str) -> str:
    """The noun phrase right before the question's last interrogative, after its owner ("…的", "那", "该")."""
    tails = list(_ASKING_TAIL.finditer(question))
    run = _CJK_RUN.search(question[:tails[-1].start()]) if tails else None
    focus = _OWNER.sub("", run.group(0)) if run else ""
    return focus if 2 <= len(focus) <= 8 else ""


def asked_focus(question: str) -> list[str]:
    """The topic terms of the thing a question asks for ("起草人" in "《…条例》的起草人是谁？"), [] when the
    question does not end in an interrogative after a noun or the noun is only a general attribute."""
    terms = [t for t in question_terms(fold(_focus_phrase(question))) if t not in _ATTRIBUTE_NOUNS]
    if any(t in _NAME_WORDS for t in terms):
        return list(_NAME_WORDS)
    return terms


# A question asking when or whether something will happen next ("下一次修订会在哪一年"): records and rules cannot
# answer it unless they speak of that future themselves. "下次降雨时要注意什么" asks what to do, and passes.
_FUTURE = re.compile(r"(下一次|下次|明年|将来|今后|以后)([\u4e00-\u9fff]{0,6}?)(?:会在|将在|会是|会不会|哪一年|什么时候|何时)")


def missing_focus(question: str, hits: list[Hit]) -> str:
    """The asked thing when no retrieved passage mentions it ("起草人": the evidence names the issuing body, not
    a drafter), "" otherwise. The share-of-terms gate passes such a question on its other terms."""
    if not hits:
        return ""
    evidence = _evidence_text(hits)
    future = _FUTURE.search(question)
    if future and future.group(1) not in evidence:
        return future.group(1) + future.group(2)
    terms = asked_focus(question)
    return "" if not terms or any(t.lower() in evidence for t in terms) else _focus_phrase(question)
