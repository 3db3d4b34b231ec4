"""Time and place qualifiers of a claim: which year, which province (or 全国), which document.

A figure belongs to the year and place its own sentence (or table row) names; failing that, its passage's
heading, title and document region. A sentence's figure is supported only by a passage whose qualifiers match
the sentence's: "河南省2024年发生4197起" is not supported by "2017年7月 全国 4197起", even though the user typed
河南省 and 2024年; "《浙江省地质灾害防治条例》自…起施行" is supported only by that document's own passages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.ingest.meta import NATIONAL, find_regions

_YEAR = re.compile(r"(?<!\d)((?:19|20)\d{2})\s*(?:年|—|-|–)")
_DOC_NAME = re.compile(r"《([^》]{2,40})》")
_PLAIN_DOC = re.compile(r"(?:北京|天津|上海|重庆|河北|山西|辽宁|吉林|黑龙江|江苏|浙江|安徽|福建|江西|山东|河南|湖北|湖南|广东|"
                        r"海南|四川|贵州|云南|陕西|甘肃|青海|内蒙古|广西|西藏|宁夏|新疆)[省市]?[\u4e00-\u9fff]{0,16}?"
                        r"(?:条例|办法|预案|规定|细则)")
_RULE_TYPES = frozenset({"regulation", "plan", "standard"})
_LINES = re.compile(r"[^。！？!?\n；;]+")


@dataclass(frozen=True)
class Qualifiers:
    years: frozenset[str] = frozenset()
    places: frozenset[str] = frozenset()

    def __or__(self, other: Qualifiers) -> Qualifiers:
        return Qualifiers(self.years | other.years, self.places | other.places)

    def __bool__(self) -> bool:
        return bool(self.years or self.places)


def qualifiers(text: str) -> Qualifiers:
    """Years (19xx/20xx followed by 年 or a range dash) and places (provinces, 全国) a text names."""
    places = set(find_regions(text))
    if NATIONAL in text:
        places.add(NATIONAL)
    return Qualifiers(frozenset(_YEAR.findall(text)), frozenset(places))


def named_documents(sentence: str) -> set[str]:
    """Documents a sentence attributes something to: 《…》 names and plain regional names ("浙江省…条例")."""
    names = {_key(n) for n in _DOC_NAME.findall(sentence)}
    names |= {_key(m.group(0)) for m in _PLAIN_DOC.finditer(_DOC_NAME.sub(" ", sentence))}
    return names


def _key(name: str) -> str:
    return re.sub(r"\s", "", name).removeprefix("中华人民共和国")


@dataclass(frozen=True)
class PassageScope:
    """A passage split into its sentences/rows, each with the qualifiers its figures carry."""
    parts: tuple[tuple[str, Qualifiers], ...]
    title: str
    text: str
    national_rule: bool


def passage_scope(title: str, heading_path: str, text: str, doc_type: str, meta: dict) -> PassageScope:
    fallback = qualifiers(f"{title}\n{heading_path}")
    region = str(meta.get("region") or "")
    if not fallback.places and region:
        fallback = Qualifiers(fallback.years, frozenset({region}))
    parts = []
    for line in _LINES.findall(f"{title}\n{heading_path}\n{text}"):
        own = qualifiers(line)
        parts.append((line, Qualifiers(own.years or fallback.years, own.places or fallback.places)))
    national = doc_type in _RULE_TYPES and (region == NATIONAL or NATIONAL in fallback.places
                                           or (not region and not fallback.places))
    return PassageScope(tuple(parts), _key(title), text.replace(" ", ""), national)


def is_about(scope: PassageScope, docs: set[str]) -> bool:
    """The passage is (a passage of) every document the sentence names, or quotes it by name."""
    return all(name in scope.title or f"《{name}》" in scope.text or (len(name) >= 4 and scope.title in name
                                                                       and not find_regions(name.replace(scope.title, "")))
               for name in docs)


def compatible(wanted: Qualifiers, have: Qualifiers, national_rule: bool, names_document: bool) -> bool:
    """The figure's own qualifiers do not contradict the sentence's: the sentence's years and places are among
    them (either side silent on one is no contradiction). A national rule holds in every province, unless the
    sentence attributes the figure to a named (regional) document."""
    if wanted.years and have.years and not wanted.years <= have.years:
        return False
    if wanted.places and have.places and not wanted.places <= have.places:
        return national_rule and have.places <= {NATIONAL} and not names_document and NATIONAL not in wanted.places
    return True


def describe(q: Qualifiers) -> str:
    """"2017年、全国" for a refusal message."""
    return "、".join([f"{y}年" for y in sorted(q.years)] + sorted(q.places))
