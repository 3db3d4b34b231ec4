"""Grading rules read from a regional plan's own text (issue 16): most provincial, city and county plans restate the
险情/灾情 grading with their own bounds, sometimes different from the national table.

`read_plan_scales(text)` finds, for each grade (特大型/特别重大 … 小型/一般) and each criterion (需搬迁转移人数,
潜在经济损失, 因灾死亡人数, 直接经济损失), the bounds the text states ("500人以上、1000人以下", "不足100人",
"1亿元以上"). `plan_rules(...)` turns a complete reading into a `RuleSet` that cites the plan's section, says where
the plan differs from the national table, and keeps only criteria stated for all four grades. Pure text → data;
the caller (the composition root) decides which document's passages to read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Callable

from app.ingest.meta import find_region
from app.reason.numbers import parse_cn_number, to_halfwidth
from app.reason.ruleset import Criterion, GradeRule, RuleSet, Scale, Threshold
from app.retrieve.versions import CURRENT, doc_statuses

GRADES = ("特大型", "大型", "中型", "小型")
# Grade words in the order they must be tried: 特大型 contains 大型, 特别重大 contains 重大.
_GRADE_WORDS = (("特大型", "特大型"), ("特别重大", "特大型"), ("大型", "大型"), ("重大", "大型"),
                ("中型", "中型"), ("较大", "中型"), ("小型", "小型"), ("一般", "小型"))
_GRADE = re.compile("|".join(w for w, _ in _GRADE_WORDS))
_GRADE_OF = dict(_GRADE_WORDS)
# A criterion's keyword and the scale it belongs to. The keyword starts the phrase whose figures are read.
CRITERIA = {
    "people_to_move": ("险情", re.compile(r"(?:搬迁转移|需转移|受威胁|威胁)[^。；;，,或]*?人数|需搬迁转移|受[^。；;，,]{0,8}威胁的?人"),
                       "受威胁需搬迁转移人数", "人"),
    "potential_loss_yuan": ("险情", re.compile(r"潜在(?:可能造成的?)?(?:的)?经济损失"), "潜在经济损失", "元"),
    "deaths": ("灾情", re.compile(r"死亡(?:和|或|、)?(?:失踪)?(?:人数)?|造成"), "因灾死亡人数", "人"),
    "direct_loss_yuan": ("灾情", re.compile(r"直接经济损失"), "直接经济损失", "元"),
}
_AMOUNT = re.compile(r"(超过|不满|不足|低于|少于|达到)?\s*(\d+(?:\.\d+)?|[一二两三四五六七八九十百千]+)\s*(亿|万)?\s*(人|元)"
                     r"\s*(及以上|以上|及以下|以下|以内)?")
_MISSING_TOO = re.compile(r"死亡(?:和|或|、)?失踪|死亡失踪")


@dataclass(frozen=True)
class Bound:
    min: float | None = None
    min_inclusive: bool = True
    max: float | None = None
    max_inclusive: bool = False
    text: str = ""


def _clauses(text: str) -> list[str]:
    return [c for c in re.split(r"[。；;\n]", to_halfwidth(text)) if c.strip()]


def _phrase_after(clause: str, match: re.Match) -> str:
    """From a criterion's keyword to the next alternative ("或", another criterion) or the clause end."""
    rest, skip = clause[match.start():], match.end() - match.start()
    cut = re.search(r"，?或者?|的地质灾害|为(?:特大型|大型|中型|小型)", rest[skip:])
    return rest[: cut.start() + skip] if cut else rest


def _bound(phrase: str, unit: str) -> Bound | None:
    amounts = [m for m in _AMOUNT.finditer(phrase) if m.group(4) == unit]
    if not amounts:
        return None
    b = Bound(text=phrase.strip("，, "))
    for m in amounts:
        value = parse_cn_number(m.group(2))
        if value is None:
            continue
        value *= {"亿": 1e8, "万": 1e4}.get(m.group(3) or "", 1)
        before, after = m.group(1) or "", m.group(5) or ""
        if before in ("不满", "不足", "低于", "少于"):
            b = replace(b, max=value, max_inclusive=False)
        elif before == "超过":
            b = replace(b, min=value, min_inclusive=False)
        elif after.endswith("以上") or before == "达到":
            b = replace(b, min=value, min_inclusive=True)
        elif after.endswith("以下") or after == "以内":
            b = replace(b, max=value, max_inclusive=True)
    return b if b.min is not None or b.max is not None else None


def read_plan_scales(text: str) -> tuple[dict[str, dict[str, dict[str, Bound]]], bool]:
    """{scale: {grade: {criterion: Bound}}} as the text states them, and whether 失踪 counts with 死亡."""
    found: dict[str, dict[str, dict[str, Bound]]] = {"险情": {}, "灾情": {}}
    grade, missing_too = None, False
    for clause in _clauses(text):
        words = _GRADE.findall(clause)
        if words:
            grade = _GRADE_OF[words[0]] if len(set(map(_GRADE_OF.get, words))) == 1 else _last_named(clause)
        if grade is None:
            continue
        for key, (scale, keyword, _label, unit) in CRITERIA.items():
            if key == "deaths" and "死亡" not in clause:
                continue
            for match in keyword.finditer(clause):
                bound = _bound(_phrase_after(clause, match), unit)
                if bound is None:
                    continue
                if key == "deaths":
                    missing_too = missing_too or bool(_MISSING_TOO.search(clause))
                found[scale].setdefault(grade, {}).setdefault(key, bound)
                break
    return found, missing_too


def _last_named(clause: str) -> str:
    """The grade a clause defines when it names several: the one after 为 ("…的险情为大型地质灾害险情")."""
    tail = re.search(r"为\s*(" + _GRADE.pattern + ")", clause)
    return _GRADE_OF[(tail or _GRADE.search(clause)).group(1 if tail else 0)]


def _filled(bounds: dict[str, Bound], key: str, grade: str, by_grade: dict[str, dict[str, Bound]]) -> Threshold:
    """The grade's threshold; a middle grade's missing upper bound is the next higher grade's lower bound."""
    b = bounds[key]
    lo, lo_in, hi, hi_in = b.min, b.min_inclusive, b.max, b.max_inclusive
    i = GRADES.index(grade)
    if hi is None and i > 0:
        above = by_grade[GRADES[i - 1]][key]
        if above.min is not None:
            hi, hi_in = above.min, not above.min_inclusive
    return Threshold(text=b.text, min=lo, min_inclusive=lo_in, max=hi, max_inclusive=hi_in)


def _describe(value: float | None, unit: str) -> str:
    if value is None:
        return "无"
    if unit == "元":
        return f"{value / 1e8:g}亿元" if value >= 1e8 else f"{value / 1e4:g}万元"
    return f"{value:g}人"


def differences(scale: Scale, national: Scale) -> list[str]:
    """Where a plan's bounds differ from the national table, in words."""
    said = []
    for rule in scale.grades:
        other = next((g for g in national.grades if g.grade == rule.grade), None)
        for key, t in rule.thresholds.items():
            n = other.thresholds.get(key) if other else None
            if n is None:
                continue
            unit = CRITERIA[key][3]
            label = CRITERIA[key][2]
            if t.min != n.min:
                said.append(f"{rule.grade}{scale.name}{label}下限为{_describe(t.min, unit)}（全国标准{_describe(n.min, unit)}）")
            if t.max != n.max and rule.grade != "特大型":
                said.append(f"{rule.grade}{scale.name}{label}上限为{_describe(t.max, unit)}（全国标准{_describe(n.max, unit)}）")
    return said


def plan_rules(text: str, document: str, article: str, region: str, national: RuleSet) -> RuleSet | None:
    """A rule set read from a plan's grading section, or None when the text does not state a complete table
    (all four grades, at least one criterion stated for every grade) for either scale."""
    found, missing_too = read_plan_scales(text)
    scales = {}
    for name, by_grade in found.items():
        if set(by_grade) != set(GRADES):
            continue
        keys = [k for k in CRITERIA if CRITERIA[k][0] == name and all(k in by_grade[g] for g in GRADES)]
        if not keys:
            continue
        grades = tuple(GradeRule(g, {k: _filled(by_grade[g], k, g, by_grade) for k in keys}) for g in GRADES)
        criteria = tuple(Criterion(k, CRITERIA[k][2], CRITERIA[k][3]) for k in keys)
        scale = Scale(name=name, document=document, article=article, criteria=criteria, grades=grades,
                      wording="original", counts_missing_as_deaths=missing_too and name == "灾情")
        diff = differences(scale, national.scales[name])
        note = ("本预案分级标准与全国标准不同：" + "；".join(diff)) if diff else "本预案分级标准与全国标准一致"
        scales[name] = replace(scale, note=f"{note}（分级界值由程序从预案原文读取，请核对原文）")
    if not scales:
        return None
    for name, scale in national.scales.items():
        scales.setdefault(name, scale)
    return replace(national, id=f"plan:{document}", name=f"{document}分级标准", region_match=(region,),
                   kb_titles=(document,), scales=scales)


def is_grading_passage(text: str) -> bool:
    """A passage that restates the grading: names a grade and a 险情/灾情 bound in 人 or 元."""
    return bool(_GRADE.search(text)) and bool(re.search(r"险情|灾情", text)) and bool(
        re.search(r"\d+\s*(?:万|亿)?\s*(?:人|元)\s*(?:及)?以上", to_halfwidth(text)))


def rules_for_region(region: str | None, metas: dict[str, dict], chunks_of: Callable[[str], list],
                     national: RuleSet) -> RuleSet | None:
    """The grading of the most local current document of `region` (county before city before province) whose
    text states a complete grading table; None without a region or such a document. `metas` is the knowledge
    base's source → document metadata, `chunks_of(source)` its passages in order."""
    key = find_region(region or "")
    if not key:
        return None
    statuses = doc_statuses(metas)
    mine = [(s, m) for s, m in metas.items()
            if m.get("region") == key and statuses.get(s, {}).get("status", CURRENT) == CURRENT]
    mine.sort(key=lambda sm: (not (sm[1].get("locality") and sm[1]["locality"] in region), not sm[1].get("locality")))
    for source, meta in mine:
        passages = [p for p in chunks_of(source) if is_grading_passage(p.text)]
        if not passages:
            continue
        where = (passages[0].heading_path or "").split(">")[-1].strip() or passages[0].locator
        rules = plan_rules("\n".join(p.text for p in passages), f"《{str(meta.get('title', source)).strip('《》')}》",
                           where, region, national)
        if rules is not None:
            return rules
    return None
