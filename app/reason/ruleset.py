"""Grading rules as data: load and check `rules/*.yaml`, pick the rule set that applies to a region.

YAML schema (one file per rule set, file name = id):

    id: chongqing                      # must equal the file name
    name: 重庆市标准
    region_match: ["重庆"]             # substrings of a region name; [] = the national fallback
    kb_titles: ["《重庆市地质灾害防治条例》"]  # a knowledge-base title containing one of these carries the rules
    levels_source: ...                 # where the Ⅰ–Ⅳ / 特别重大… / response mapping comes from
    levels:                            # highest first
      - {grade: 特大型, roman: Ⅰ, name: 特别重大, response: Ⅰ级, response_cn: 一级}
    scales:
      灾情 | 险情:
        document: 《…》                # cited in every result
        article: 第五条
        paragraph: 第二款              # optional
        wording: original | summary    # do the threshold texts quote the document or paraphrase it?
        note: ...                      # optional caveat shown with every result
        counts_missing_as_deaths: false  # 灾情 only
        criteria: {deaths: {label: 因灾死亡人数, unit: 人}, ...}
        grades:
          - grade: 大型
            thresholds:
              deaths: {min: 10, min_inclusive: true, max: 30, max_inclusive: false, text: 因灾死亡十人以上不满三十人}

以上/以下 include the number (inclusive: true); 不满/超过 exclude it (inclusive: false).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Mapping

import yaml

RULES_DIR = Path(__file__).parent / "rules"
NATIONAL = "national"
# Which figures each scale may use; a rule file naming any other criterion is rejected (scales never mix).
SCALE_CRITERIA = {
    "险情": ("people_to_move", "potential_loss_yuan"),
    "灾情": ("deaths", "direct_loss_yuan"),
}


class RuleError(ValueError):
    """A rule file is malformed; the message names the file and the offending entry."""


@dataclass(frozen=True)
class Threshold:
    text: str
    min: float | None = None
    min_inclusive: bool = True
    max: float | None = None
    max_inclusive: bool = False

    def contains(self, value: float) -> bool:
        if self.min is not None and (value < self.min or (value == self.min and not self.min_inclusive)):
            return False
        if self.max is not None and (value > self.max or (value == self.max and not self.max_inclusive)):
            return False
        return True


@dataclass(frozen=True)
class GradeRule:
    grade: str
    thresholds: Mapping[str, Threshold]


@dataclass(frozen=True)
class Criterion:
    key: str
    label: str
    unit: str  # 人 | 元


@dataclass(frozen=True)
class Scale:
    name: str  # 险情 | 灾情
    document: str
    article: str
    criteria: tuple[Criterion, ...]
    grades: tuple[GradeRule, ...]  # highest first
    paragraph: str = ""
    wording: str = "original"
    note: str = ""
    counts_missing_as_deaths: bool = False

    @property
    def citation(self) -> str:
        return cite(self.document, f"{self.article}{self.paragraph}")


@dataclass(frozen=True)
class Level:
    grade: str
    roman: str
    name: str
    response: str
    response_cn: str


@dataclass(frozen=True)
class RuleSet:
    id: str
    name: str
    region_match: tuple[str, ...]
    kb_titles: tuple[str, ...]
    levels: tuple[Level, ...]
    levels_source: str
    scales: Mapping[str, Scale]
    selection_note: str = ""  # why this rule set was chosen (set by select_rules)

    def level(self, grade: str) -> Level:
        return next(lv for lv in self.levels if lv.grade == grade)

    def rank(self, grade: str) -> int:
        """0 for the highest grade."""
        return [lv.grade for lv in self.levels].index(grade)


def cite(document: str, article: str) -> str:
    """《…》第五条第三款, or 《…》（险情分级） when the locator is a section name rather than an article."""
    return f"{document}{article}" if article.startswith("第") else f"{document}（{article}）"


def rule_set_ids() -> list[str]:
    return sorted(p.stem for p in RULES_DIR.glob("*.yaml"))


@lru_cache(maxsize=None)
def load_rules(rule_set_id: str = NATIONAL) -> RuleSet:
    path = RULES_DIR / f"{rule_set_id}.yaml"
    if not path.is_file():
        raise RuleError(f"没有名为 {rule_set_id} 的分级规则（{RULES_DIR}）")
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return parse_rules(data, where=path.name)


def parse_rules(data: dict, where: str = "<rules>") -> RuleSet:
    """Build and check a RuleSet from parsed YAML; every problem raises RuleError naming `where` and the entry."""
    if not isinstance(data, dict):
        raise RuleError(f"{where}: 顶层必须是映射")
    levels = tuple(Level(**_pick(lv, f"{where}: levels", "grade", "roman", "name", "response", "response_cn"))
                   for lv in _require(data, "levels", where))
    order = [lv.grade for lv in levels]
    scales = {}
    for name, raw in _require(data, "scales", where).items():
        scales[name] = _parse_scale(name, raw, order, f"{where}: scales.{name}")
    rule_id = _require(data, "id", where)
    if where.endswith(".yaml") and where != f"{rule_id}.yaml":
        raise RuleError(f"{where}: id {rule_id} 与文件名不一致")
    return RuleSet(rule_id, _require(data, "name", where), tuple(data.get("region_match") or ()),
                   tuple(data.get("kb_titles") or ()), levels, data.get("levels_source", ""), scales)


def _parse_scale(name: str, raw: dict, order: list[str], where: str) -> Scale:
    if name not in SCALE_CRITERIA:
        raise RuleError(f"{where}: 未知的分级 {name}（只能是 险情 或 灾情）")
    criteria = tuple(Criterion(key, **_pick(c, f"{where}.criteria.{key}", "label", "unit"))
                     for key, c in _require(raw, "criteria", where).items())
    for c in criteria:
        if c.key not in SCALE_CRITERIA[name]:
            raise RuleError(f"{where}: {name}不能使用指标 {c.key}（允许：{', '.join(SCALE_CRITERIA[name])}）")
    grades = []
    for i, g in enumerate(_require(raw, "grades", where)):
        grade = _require(g, "grade", f"{where}.grades[{i}]")
        if grade not in order:
            raise RuleError(f"{where}.grades[{i}]: 等级 {grade} 不在 levels 中")
        thresholds = _require(g, "thresholds", f"{where}.grades[{i}]")
        missing = [c.key for c in criteria if c.key not in thresholds]
        if missing or set(thresholds) - {c.key for c in criteria}:
            raise RuleError(f"{where}.grades[{i}] ({grade}): 阈值必须且只能覆盖指标 {[c.key for c in criteria]}")
        grades.append(GradeRule(grade, {k: _threshold(t, f"{where}.{grade}.{k}") for k, t in thresholds.items()}))
    grades.sort(key=lambda g: order.index(g.grade))
    return Scale(name, _require(raw, "document", where), _require(raw, "article", where), criteria, tuple(grades),
                 raw.get("paragraph", ""), raw.get("wording", "original"), raw.get("note", ""),
                 bool(raw.get("counts_missing_as_deaths", False)))


def _threshold(raw: dict, where: str) -> Threshold:
    if "min" not in raw and "max" not in raw:
        raise RuleError(f"{where}: 至少要有 min 或 max")
    for bound in ("min", "max"):
        if bound in raw:
            if not isinstance(raw[bound], (int, float)) or isinstance(raw[bound], bool):
                raise RuleError(f"{where}: {bound} 必须是数字")
            if not isinstance(raw.get(f"{bound}_inclusive"), bool):
                raise RuleError(f"{where}: 有 {bound} 就必须写明 {bound}_inclusive: true/false（以上/以下为 true，不满/超过为 false）")
    return Threshold(_require(raw, "text", where), raw.get("min"), raw.get("min_inclusive", True),
                     raw.get("max"), raw.get("max_inclusive", False))


def _require(data: dict, key: str, where: str):
    if not isinstance(data, dict) or data.get(key) in (None, "", [], {}):
        raise RuleError(f"{where}: 缺少 {key}")
    return data[key]


def _pick(data: dict, where: str, *keys: str) -> dict:
    return {k: str(_require(data, k, where)) for k in keys}


def rule_sets_in_kb(titles: Iterable[str]) -> set[str]:
    """Ids of the rule sets whose source document appears among the knowledge base's document titles."""
    titles = list(titles)
    return {rid for rid in rule_set_ids()
            if any(k in t for k in load_rules(rid).kb_titles for t in titles)}


def select_rules(region: str | None, available: set[str], plan: RuleSet | None = None) -> RuleSet:
    """The region's own rules when the region matches AND their document is in the knowledge base: a checked rule
    file first, else the grading read from the region's plan in the knowledge base (`plan`); else national."""
    national = load_rules(NATIONAL)
    if not region:
        return replace(national, selection_note="未提供事发地区，按全国标准定级")
    if plan is not None and not any(any(m in region for m in load_rules(rid).region_match) and rid in available
                                    for rid in rule_set_ids() if rid != NATIONAL):
        # plan.kb_titles holds the plan's title (its scales may include national ones for a scale it does not state)
        return replace(plan, selection_note=f"事发地“{region}”适用知识库中的地方预案{plan.kb_titles[0]}的分级标准，"
                                            "优先于全国标准")
    for rid in rule_set_ids():
        rules = load_rules(rid)
        if rid == NATIONAL or not any(m in region for m in rules.region_match):
            continue
        docs = "、".join(sorted({s.document for s in rules.scales.values()}))
        if rid in available:
            return replace(rules, selection_note=f"事发地“{region}”适用地方规定{docs}，优先于全国标准")
        return replace(national, selection_note=f"事发地“{region}”有地方规定{docs}，但知识库中没有该文件，暂按全国标准定级；"
                                                "导入该文件后应按地方标准复核")
    return replace(national, selection_note=f"事发地“{region}”没有已收录的地方分级规定，按全国标准定级")
