"""Verify cited sentences against the passages they cite.

Numbers (with 万/亿), dates, document names in 《》 and article numbers (第X条) in a sentence must appear in
one of its cited passages, or in the user's own words. A number is compared with what it counts: "1小时" is
not supported by "一处" (time vs. count), while a number without a unit on either side matches any unit.
A sentence that fails is flagged in the answer, so a fabricated figure, document or article never reaches
the reader unmarked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from app.reason.citations import SENTENCE, bigrams
from app.reason.numbers import parse_cn_number
from app.reason.qualifiers import (Qualifiers, compatible, describe, is_about, named_documents, passage_scope,
                                   qualifiers)
from app.schema import Chunk

FLAG = "（⚠未能在引用资料中核实）"
_CN = "零〇一二两三四五六七八九十百千"
_ARTICLE = re.compile(rf"第[{_CN}\d]+[编章节条款项]")
_DOC_NAME = re.compile(r"《([^》]{2,40})》")
_ARABIC = re.compile(r"\d+(?:\.\d+)?\s*[万亿]?")
_CN_NUMBER = re.compile(rf"[{_CN}]+(?:[万亿][{_CN}]*)?"
                        r"(?=[人户元米年月日时天起处次个间栋座吨方名级周秒亩]|小时|分钟|毫米|厘米|公里|千米|立方|平方|公顷)")
_MARKER = re.compile(r"\[(\d+)\]")
# Response and warning levels written in Roman numerals: Ⅲ级 is the same claim as 三级 or 3级.
_ROMAN_LEVEL = re.compile(r"(?<![IVⅠⅡⅢⅣ])(IV|III|II|I|Ⅳ|Ⅲ|Ⅱ|Ⅰ)\s*级")
_ROMAN = {"I": 1, "II": 2, "III": 3, "IV": 4, "Ⅰ": 1, "Ⅱ": 2, "Ⅲ": 3, "Ⅳ": 4}
# What a number counts, by the unit written after it (synonyms share a kind; 余/多 between them are skipped).
# Measures keep their own unit (3天 is not 3小时); counted things (处, 个, 次 …) share one kind.
_UNIT_KINDS = {
    "second": ("秒",), "minute": ("分钟",), "hour": ("个小时", "小时", "时"), "day": ("天", "日"),
    "week": ("周",), "month": ("个月", "月"), "year": ("年",),
    "person": ("人", "名", "位"), "person-time": ("人次",), "household": ("户",), "yuan": ("元",),
    "m": ("米", "m"), "km": ("公里", "千米", "km"), "cm": ("厘米", "cm"), "mm": ("毫米", "mm"),
    "m2": ("平方米", "m²", "m2"), "km2": ("平方公里", "平方千米", "km²", "km2"), "ha": ("公顷",), "mu": ("亩",),
    "m3": ("立方米", "方", "m³", "m3"), "t": ("吨",), "kg": ("千克", "公斤"), "percent": ("%", "％"),
    "level": ("级",),
    "count": ("处", "个", "次", "起", "座", "栋", "间", "条", "项", "所", "家", "辆", "台", "道"),
}
_UNITS = sorted(((u, k) for k, units in _UNIT_KINDS.items() for u in units), key=lambda uk: -len(uk[0]))
_UNIT_GAP = re.compile(r"\s*[余多]?\s*")

Quantity = tuple[float, str]  # (value, kind); kind "" when no unit follows the number
# "1. ", "2、", "（3）" at the start of a list item number the item; they are not figures to verify.
_LIST_ITEM = re.compile(r"^\s*(?:\d{1,2}[.．](?!\d)|\d{1,2}[、)）]|[（(]\d{1,2}[)）]|[一二三四五六七八九十]{1,2}、)\s*")


@dataclass
class Verification:
    text: str
    checked: int = 0  # sentences with something checkable
    unsupported: list[str] = field(default_factory=list)  # the sentences flagged
    recited: int = 0  # sentences whose marker was moved to the one retrieved passage that holds their claims
    claims: int = 0  # checkable claims (numbers, documents, articles) in all sentences
    supported_claims: int = 0  # of those, found in the cited passage or the user's words
    new_claims: int = 0  # claims the user's words do not already hold: what the answer adds
    new_supported: int = 0  # of those, found in the cited (or re-cited) passage


def claims(sentence: str) -> tuple[set[Quantity], set[str], set[str]]:
    """The checkable parts of a sentence: quantities (value and what it counts), document names, article
    numbers."""
    articles = set(_ARTICLE.findall(sentence))
    bare = _ARTICLE.sub(" ", _MARKER.sub(" ", sentence))
    docs = {_doc_key(d) for d in _DOC_NAME.findall(bare)}
    bare = _DOC_NAME.sub(" ", bare)
    values = {(float(_ROMAN[m.group(1)]), "level") for m in _ROMAN_LEVEL.finditer(bare)}
    for pattern in (_ARABIC, _CN_NUMBER):
        for m in pattern.finditer(bare):
            value = _value(m.group(0))
            if value is not None:
                values.add((value, unit_kind(bare, m.end())))
    return values, docs, articles


def unit_kind(text: str, end: int) -> str:
    """What the number ending at `end` counts ("hour", "person", "yuan", …), "" when no known unit follows."""
    rest = text[end + len(_UNIT_GAP.match(text, end).group(0)):]
    return next((kind for unit, kind in _UNITS if rest.startswith(unit)), "")


def same_quantity(claim: Quantity, have: set[Quantity]) -> bool:
    """The passage holds the claimed value counting the same thing (a unitless side matches any unit)."""
    value, kind = claim
    return any(v == value and (k == kind or not k or not kind) for v, k in have)


def verify_claims(answer: str, chunks: list[Chunk], user_text: str = "") -> Verification:
    """Flag every sentence whose numbers, documents or articles its cited passages do not contain.

    A sentence that fails against the passage it cites, but whose every claim one other retrieved passage
    holds (and whose wording overlaps it), gets that passage's marker instead: the fact was right, the
    number in brackets was not.
    """
    result = Verification(text="")
    user = claims(user_text)
    sources = [_source_claims(c) for c in chunks]
    out, last = [], 0
    for match in SENTENCE.finditer(answer):
        sentence = match.group(0)
        out.append(answer[last:match.start()])
        last = match.end()
        wanted = claims(_LIST_ITEM.sub("", sentence, count=1))
        if not any(wanted):
            out.append(sentence)
            continue
        result.checked += 1
        result.claims += sum(len(part) for part in wanted)
        new = _new_claims(wanted, user)
        result.new_claims += sum(len(part) for part in new)
        cited = [n for n in map(int, _MARKER.findall(sentence)) if 1 <= n <= len(chunks)]
        found = _supported(wanted, [sources[n - 1] for n in cited], user, sentence)
        result.supported_claims += found
        if found == sum(len(part) for part in wanted):
            result.new_supported += sum(len(part) for part in new)
            out.append(sentence)
            continue
        better = _other_source(sentence, wanted, sources, chunks, user, exclude=set(cited))
        if better is not None:  # the re-cited passage holds every claim
            result.recited += 1
            result.supported_claims += sum(len(part) for part in wanted) - found
            result.new_supported += sum(len(part) for part in new)
            bare = _MARKER.sub("", sentence).rstrip()
            cut = len(bare) - 1 if bare[-1:] in "。！？!?；" else len(bare)
            out.append(f"{bare[:cut]}[{better}]{bare[cut:]}")
            continue
        result.new_supported += _supported(new, [sources[n - 1] for n in cited], _NOTHING, sentence)
        result.unsupported.append(sentence.strip())
        stripped = sentence.rstrip()
        out.append(f"{stripped}{FLAG}{sentence[len(stripped):]}")
    out.append(answer[last:])
    result.text = "".join(out)
    return result


_NOTHING: tuple[set, set, set] = (set(), set(), set())
# "多少毫米", "多少亿元", "几户": the question asks for a measured quantity of this kind.
_ASKED = re.compile(r"(?:多少|几)\s*[万亿]?\s*(?=\S)")
_ASKED_MONEY = re.compile(r"(?:经济损失|损失|金额|费用|资金|投资|造价|赔偿)(?:总额|总计|合计)?(?:是|为|有|达|约)?"
                          r"(?:多少|几|呢|？|\?)")
_ASKED_KINDS = frozenset({"yuan", "mm", "cm", "m", "km", "m2", "km2", "m3", "ha", "mu", "t", "kg", "person",
                          "household", "percent"})


def _new_claims(wanted, user) -> tuple[set, set, set]:
    """The sentence's claims minus those the user's own words hold."""
    values, docs, articles = wanted
    return ({v for v in values if not same_quantity(v, user[0])}, docs - user[1], articles - user[2])


def asked_kind(question: str) -> str:
    """The kind of quantity a question asks for ("多少毫米" → "mm", "多少亿元" → "yuan"), "" if none."""
    for match in _ASKED.finditer(question):
        kind = unit_kind(question, match.end())
        if kind in _ASKED_KINDS:
            return kind
    if _ASKED_MONEY.search(question):  # "直接经济损失是多少？", "那直接经济损失呢？": an amount of money
        return "yuan"
    return ""


def gives_asked_quantity(answer: str, question: str) -> bool:
    """False when the question asks for a measured quantity ("多少毫米") and the answer states none of that
    kind beyond what the question itself says: it answered something else."""
    kind = asked_kind(question)
    if not kind:
        return True
    given = claims(answer)[0] - claims(question)[0]
    return any(k == kind for _, k in given)


def _source_claims(chunk: Chunk):
    """(values, documents, plain text, passage scope, [(values of one sentence/row, its qualifiers)])."""
    text = f"{chunk.title}\n{chunk.heading_path}\n{chunk.text}"
    values, docs, articles = claims(text)
    plain = text.replace(" ", "")
    scope = passage_scope(chunk.title, chunk.heading_path, chunk.text, chunk.doc_type, chunk.meta)
    parts = [(claims(line)[0], qual) for line, qual in scope.parts]
    return values, docs | {_doc_key(plain)}, plain, scope, parts


def _values_in_scope(sources, sentence: str) -> set[Quantity]:
    """The passages' figures whose own year/place fit the sentence's, from passages of the documents it names
    (all figures when the sentence names no year, place or document)."""
    bare = _MARKER.sub(" ", sentence)
    wanted, docs = qualifiers(bare), named_documents(bare)
    if not wanted and not docs:
        return set().union(*(s[0] for s in sources)) if sources else set()
    have: set[Quantity] = set()
    for source in sources:
        scope, parts = source[3], source[4]
        if docs and not is_about(scope, docs):
            continue
        for values, qual in parts:
            if compatible(wanted, qual, scope.national_rule, bool(docs)):
                have |= values
    return have


def _supported(wanted, sources, user, sentence: str = "") -> int:
    """How many of the sentence's claims the given passages (or the user's words) hold; a figure only from a
    passage (and its sentence) whose year, place and document fit the sentence's (reason/qualifiers.py)."""
    values, docs, articles = wanted
    have_values = _values_in_scope(sources, sentence)
    plains = [s[2] for s in sources]
    count = sum(1 for v in values if same_quantity(v, have_values) or same_quantity(v, user[0]))
    count += sum(1 for d in docs if any(d in p for p in plains) or d in user[1])
    count += sum(1 for a in articles if any(a in p for p in plains) or a in user[2])
    return count


def _other_source(sentence, wanted, sources, chunks, user, exclude: set[int]) -> int | None:
    total = sum(len(part) for part in wanted)
    own = bigrams(_MARKER.sub("", sentence))
    candidates = []
    for n, source in enumerate(sources, start=1):
        if n in exclude or _supported(wanted, [source], user, sentence) < total:
            continue
        overlap = len(own & bigrams(chunks[n - 1].text)) / max(1, len(own))
        if overlap >= 0.3:
            candidates.append((overlap, n))
    return max(candidates)[1] if candidates else None


_ASKS_FIGURE = re.compile(r"多少|几[个起次人户处年月天]|哪一?年|什么时候|何时|哪天")


def answers_other_scope(answer: str, chunks: list[Chunk], question: str) -> str:
    """When the question asks for a figure of a named year/place/document and every figure the answer adds
    comes from passages about another year or place (or another document): what those are ("2017年、全国");
    else "". A year or place the user typed never makes another year's or place's figure an answer."""
    asked, docs = qualifiers(question), named_documents(question)
    if not asked or not _ASKS_FIGURE.search(question):
        return ""
    user = claims(question)[0]
    sources = [_source_claims(c) for c in chunks]
    others: list = []
    for match in SENTENCE.finditer(answer):
        sentence = match.group(0)
        new = {v for v in claims(_LIST_ITEM.sub("", sentence, count=1))[0] if not same_quantity(v, user)}
        cited = [sources[n - 1] for n in map(int, _MARKER.findall(sentence)) if 1 <= n <= len(chunks)]
        for value in new:
            for source in cited:
                for values, qual in source[4]:
                    if not same_quantity(value, values):
                        continue
                    own = qual | qualifiers(_MARKER.sub(" ", sentence))
                    if compatible(asked, own, source[3].national_rule, bool(docs)) and (
                            not docs or is_about(source[3], docs)):
                        return ""
                    others.append(own)
    if not others:
        return ""
    return describe(Qualifiers(frozenset().union(*(q.years for q in others)),
                               frozenset().union(*(q.places for q in others)))) or "其他文件"


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
