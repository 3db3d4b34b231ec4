"""响应要求 by code (issue 20): sentences from the applicable plan's or regulation's section for the computed
response level. Never another level's section, never a case report (what one event did is not what the rules
require), never another province's document when the region's own or a national one is at hand.

A passage's level is what its heading names (e.g. "4.3 Ⅲ级（较大）应急响应"); a sentence outside such a section
counts only when it names the computed level and no other.
"""

from __future__ import annotations

import re

from app.schema import Chunk

# Words naming each level; longer words first, and removed before the shorter ones they contain are looked for
# (特别重大 before 重大, 特大型 before 大型).
LEVEL_WORDS: dict[str, tuple[str, ...]] = {
    "Ⅰ": ("特别重大", "特大型", "Ⅰ级", "I级", "一级"),
    "Ⅱ": ("重大", "大型", "Ⅱ级", "II级", "二级"),
    "Ⅲ": ("较大", "中型", "Ⅲ级", "III级", "三级"),
    "Ⅳ": ("一般", "小型", "Ⅳ级", "IV级", "四级"),
}
_ORDER = ("特别重大", "特大型", "III级", "II级", "IV级", "I级")  # removed first so their parts do not count twice
ACTION = ("启动", "响应", "指挥", "赶赴", "会商", "派出", "派遣", "部署", "调集", "调度", "负责", "组织", "协调", "设立")
# A grading criterion ("需搬迁转移人员一百人以上不满五百人") names a level too, but says what a level is, not what to do.
_CRITERION = re.compile(r"(?:以上|以下|不满|不足|低于|超过).{0,12}(?:人|户|元|万元)|(?:人|户|万元|元)(?:以上|以下)")
_PROVINCES = ("北京 天津 上海 重庆 河北 山西 辽宁 吉林 黑龙江 江苏 浙江 安徽 福建 江西 山东 河南 湖北 湖南 广东 海南 "
              "四川 贵州 云南 陕西 甘肃 青海 内蒙古 广西 西藏 宁夏 新疆").split()
_SENTENCE = re.compile(r"[^。；\n]{8,200}[。；]?")
# A sentence that tells what happened in one event (a case quoted inside a card or plan): a year with an event, a
# news or web source, "当地即按…启动". What one event did is not what the rules require.
NARRATIVE = re.compile(r"(?:19|20)\d{2}年.{0,30}(?:发生|滑坡|泥石流|崩塌|塌陷|事件|灾害)|发生后，?当地|据[^，。]{0,20}(?:报道|整理|转载|通报)"
                       r"|https?://|成功案例|案例中")


def levels_named(text: str) -> set[str]:
    """The response levels (Ⅰ…Ⅳ) a text names."""
    rest, found = text, set()
    for word in _ORDER:
        if word in rest:
            found |= {lv for lv, words in LEVEL_WORDS.items() if word in words}
            rest = rest.replace(word, "　")
    for lv, words in LEVEL_WORDS.items():
        if any(w in rest for w in words if w not in _ORDER):
            found.add(lv)
    return found


def applicable(chunk: Chunk, region: str | None) -> bool:
    """Not a case report, and not another province's document (the region's own and national ones apply)."""
    if chunk.doc_type == "case":
        return False
    province = next((p for p in _PROVINCES if p in chunk.title), None)
    return province is None or bool(region and region.startswith(province))


def level_requirements(chunks: list[Chunk], level_roman: str, region: str | None = None, limit: int = 3) -> list[str]:
    """Up to `limit` sentences (with their [n] marker, n = 1-based position in `chunks`) that say what to do
    at `level_roman`; the region's own documents first."""
    found: list[tuple[int, int, str]] = []
    for n, chunk in enumerate(chunks, start=1):
        if not chunk.text or not applicable(chunk, region):
            continue
        section = levels_named(chunk.heading_path)
        if section and section != {level_roman}:
            continue  # another level's section (or a section about several)
        for sentence in _SENTENCE.findall(chunk.text):
            named = levels_named(sentence)
            if not any(a in sentence for a in ACTION) or sentence.lstrip().startswith(("#", "|", "｜")) \
                    or _CRITERION.search(sentence) or NARRATIVE.search(sentence):
                continue
            if (section == {level_roman} and named <= {level_roman}) or named == {level_roman}:
                own = 0 if region and any(p in chunk.title for p in _PROVINCES if region.startswith(p)) else 1
                found.append((own, n, f"{sentence.strip().rstrip('。；')}[{n}]"))
    found.sort(key=lambda f: (f[0], f[1]))
    return list(dict.fromkeys(text for _, _, text in found))[:limit]


_AMOUNT = re.compile(r"\d+(?:\.\d+)?\s*(?:万|亿)?\s*(?:元|人)|[一二两三四五六七八九十百千]+\s*(?:万|亿)?\s*(?:元|人)")


def rule_passage(chunks: list[Chunk], grade) -> int | None:
    """The passage (1-based position in `chunks`) that states the threshold deciding `grade`: it names the grade
    and every amount of the deciding rule ("100人", "500人"); the rule's own document first, never a case.
    The card then cites the passage a reader can open next to the code's rule citation."""
    if not grade.grade:
        return None
    deciding = [f for f in grade.figures if f.decisive]
    if not deciding:
        return None
    amounts = [re.sub(r"\s", "", a) for f in deciding for a in _AMOUNT.findall(f.rule_text)]
    own = re.sub(r"[《》]|（.*?）", "", grade.document)
    best, best_score = None, 0
    for n, chunk in enumerate(chunks, start=1):
        text = re.sub(r"\s", "", chunk.text)
        if not chunk.text or chunk.doc_type == "case" or grade.grade not in text or not amounts \
                or not all(a in text for a in amounts):
            continue
        score = 1 + 2 * (bool(own) and own in chunk.title) + (grade.article in chunk.locator) + (grade.scale in text)
        if score > best_score:
            best, best_score = n, score
    return best
