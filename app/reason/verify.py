"""Verify cited sentences against the passages they cite.

Numbers (with 万/亿), dates, document names in 《》 and article numbers (第X条) in a sentence must appear in
one of its cited passages, or in the user's own words. A sentence that fails is flagged in the answer, so a
fabricated figure, document or article never reaches the reader unmarked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from app.reason.numbers import parse_cn_number
from app.schema import Chunk

FLAG = "（⚠未能在引用资料中核实）"
_CN = "零〇一二两三四五六七八九十百千"
_ARTICLE = re.compile(rf"第[{_CN}\d]+[编章节条款项]")
_DOC_NAME = re.compile(r"《([^》]{2,40})》")
_ARABIC = re.compile(r"\d+(?:\.\d+)?\s*[万亿]?")
_CN_NUMBER = re.compile(rf"[{_CN}]+(?:[万亿][{_CN}]*)?(?=[人户元米年月日时天起处次个间栋座吨方名])")
_SENTENCE = re.compile(r"[^。！？!?\n]+[。！？!?]?(?:\s*\[\d+\])*")
_MARKER = re.compile(r"\[(\d+)\]")


@dataclass
class Verification:
    text: str
    checked: int = 0  # sentences with something checkable
    unsupported: list[str] = field(default_factory=list)  # the sentences flagged


def claims(sentence: str) -> tuple[set[float], set[str], set[str]]:
    """The checkable parts of a sentence: numeric values, document names, article numbers."""
    articles = set(_ARTICLE.findall(sentence))
    bare = _ARTICLE.sub(" ", _MARKER.sub(" ", sentence))
    docs = {_doc_key(d) for d in _DOC_NAME.findall(bare)}
    bare = _DOC_NAME.sub(" ", bare)
    values = {v for v in (_value(m.group(0)) for m in _ARABIC.finditer(bare)) if v is not None}
    values |= {v for v in (_value(m.group(0)) for m in _CN_NUMBER.finditer(bare)) if v is not None}
    return values, docs, articles


def verify_claims(answer: str, chunks: list[Chunk], user_text: str = "") -> Verification:
    """Flag every sentence whose numbers, documents or articles its cited passages do not contain."""
    result = Verification(text="")
    user_values, user_docs, user_articles = claims(user_text)
    out, last = [], 0
    for match in _SENTENCE.finditer(answer):
        sentence = match.group(0)
        out.append(answer[last:match.start()])
        last = match.end()
        values, docs, articles = claims(sentence)
        if not (values or docs or articles):
            out.append(sentence)
            continue
        result.checked += 1
        cited = [chunks[n - 1] for n in map(int, _MARKER.findall(sentence)) if 1 <= n <= len(chunks)]
        source_text = "\n".join(f"{c.title}\n{c.heading_path}\n{c.text}" for c in cited)
        have_values, have_docs, have_articles = claims(source_text)
        plain = source_text.replace(" ", "")
        ok = (values <= have_values | user_values
              and all(d in have_docs or d in _doc_key(plain) or d in user_docs for d in docs)
              and all(a in plain or a in have_articles or a in user_articles for a in articles))
        if ok:
            out.append(sentence)
        else:
            result.unsupported.append(sentence.strip())
            stripped = sentence.rstrip()
            out.append(f"{stripped}{FLAG}{sentence[len(stripped):]}")
    out.append(answer[last:])
    result.text = "".join(out)
    return result


def _value(token: str) -> float | None:
    token = token.replace(" ", "")
    multiplier = 1.0
    if token.endswith("万"):
        multiplier, token = 1e4, token[:-1]
    elif token.endswith("亿"):
        multiplier, token = 1e8, token[:-1]
    number = parse_cn_number(token)
    return None if number is None else round(number * multiplier, 6)


def _doc_key(name: str) -> str:
    return name.replace(" ", "").removeprefix("中华人民共和国")
