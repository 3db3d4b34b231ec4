"""Grade a 险情 (threat) or a 灾情 (disaster) from its figures, by rules stored as data — pure code, no model.

Two separate scales that never mix: 险情 by people to move / potential loss, 灾情 by deaths / direct loss.
Either figure suffices ("或"): the grade is the highest any given figure reaches, and the result names it.
Missing figures are reported as missing, never guessed; households are not people unless the caller
passes a persons-per-household assumption, which is then recorded in the result.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

from app.reason.ruleset import RuleSet, Scale, cite, load_rules, rule_sets_in_kb, select_rules
from app.reason.situation import Situation, describe, situation_from_text

ESTIMATED = "（估算）"
__all__ = ["Figure", "Grade", "grade_disaster", "grade_hazard", "load_rules", "rule_sets_in_kb", "select_rules",
           "situation_from_text"]


@dataclass(frozen=True)
class Figure:
    criterion: str  # people_to_move | potential_loss_yuan | deaths | direct_loss_yuan
    label: str  # 受威胁人数 …
    value: float
    display: str  # "180人", "3000万元"
    source_text: str  # as written in the report ("约180人"), or the computation for an assumed figure
    approx: bool
    grade: str  # the grade this figure alone reaches
    rule_text: str  # the threshold it meets, as worded in the rule source
    rule_note: str = ""  # e.g. the figure sits on a boundary two grades share
    decisive: bool = False  # this figure decides the overall grade


@dataclass(frozen=True)
class Grade:
    scale: str  # 险情 | 灾情
    grade: str | None  # 特大型 | 大型 | 中型 | 小型, None when no figure allows grading
    level_roman: str | None  # Ⅰ…Ⅳ
    level_name: str | None  # 特别重大 | 重大 | 较大 | 一般
    response_level: str | None  # Ⅰ级…Ⅳ级
    response_level_cn: str | None  # 一级…四级
    figures: tuple[Figure, ...]
    rule_set: str
    rule_set_name: str
    rule_selection: str
    document: str
    article: str  # e.g. 第五条第三款
    wording: str  # original: rule texts quote the document; summary: paraphrased
    levels_source: str  # where the Ⅰ–Ⅳ / 特别重大… / response mapping comes from
    missing: tuple[str, ...] = ()
    assumptions: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    lower_bound: bool = False  # a missing figure could still raise the grade

    @property
    def deciding(self) -> tuple[Figure, ...]:
        return tuple(f for f in self.figures if f.decisive)

    @property
    def citation(self) -> str:
        return cite(self.document, self.article)

    def summary(self) -> str:
        if self.grade is None:
            return f"{self.scale}暂无法定级：缺少{'、'.join(self.missing)}。"
        by = "；".join(f"{f.label}{f.display}（{f.rule_text}）" for f in self.deciding)
        prefix = "至少为" if self.lower_bound else "为"
        return (f"{self.scale}{prefix}{self.grade}（{self.level_roman}级，{self.level_name}），对应{self.response_level}"
                f"应急响应。决定因素：{by}。依据：{self.citation}。")

    def to_json(self) -> dict:
        return {
            "scale": self.scale,
            "grade": self.grade,
            "level_roman": self.level_roman,
            "level_name": self.level_name,
            "response_level": self.response_level,
            "response_level_cn": self.response_level_cn,
            "lower_bound": self.lower_bound,
            "deciding": [f.criterion for f in self.deciding],
            "figures": [asdict(f) for f in self.figures],
            "rule_set": {"id": self.rule_set, "name": self.rule_set_name, "selection": self.rule_selection},
            "source": {"document": self.document, "article": self.article, "wording": self.wording,
                       "levels_source": self.levels_source},
            "missing": list(self.missing),
            "assumptions": list(self.assumptions),
            "warnings": list(self.warnings),
            "summary": self.summary(),
        }


def grade_hazard(situation: Situation, rules: RuleSet, *, persons_per_household: float | None = None) -> Grade:
    """险情 grade from people to move and/or potential loss. Households count only with an explicit assumption."""
    if persons_per_household is not None and not persons_per_household > 0:
        raise ValueError(f"persons_per_household 必须为正数，收到 {persons_per_household!r}")
    s = situation
    values = _present(s, "people_to_move", "potential_loss_yuan")
    assumptions, warnings = _notes(s, ("people_to_move", "households", "potential_loss_yuan"))
    if s.people_to_move is None and s.households is not None:
        households = describe("households", s.households)
        if persons_per_household is None:
            warnings.append(f"无法按人数定级：需要受威胁人数（现只有{households}），不按户数折算，请现场核实人数")
        else:
            people, per = s.households * persons_per_household, describe("people", persons_per_household)
            values["people_to_move"] = (people, f"{households}×{per}/户{ESTIMATED}", True)
            assumptions.append(f"受威胁人数按每户{per}估算：{households}×{persons_per_household:g}="
                               f"{describe('people', people)}（假设值，需现场核实）")
    if s.deaths is not None or s.direct_loss_yuan is not None:
        warnings.append("情况中含灾情指标（因灾死亡人数、直接经济损失），险情分级不使用它们；请另做灾情分级")
    return _grade("险情", rules, values, assumptions, warnings)


def grade_disaster(situation: Situation, rules: RuleSet) -> Grade:
    """灾情 grade from deaths and/or direct loss. Missing persons count only if the rule set says so."""
    s = situation
    scale = rules.scales["灾情"]
    values = _present(s, "deaths", "direct_loss_yuan")
    assumptions, warnings = _notes(s, ("deaths", "missing", "direct_loss_yuan"))
    if s.missing:
        missing = describe("missing", s.missing)
        if scale.counts_missing_as_deaths:
            total = (s.deaths or 0) + s.missing
            values["deaths"] = (total, f"死亡与失踪合计{describe('deaths', total)}", s.is_approx("missing"))
            assumptions.append(f"按{scale.citation}，失踪人员（{missing}）计入死亡人数")
        else:
            warnings.append(_missing_persons_warning(s, scale, rules))
    if s.people_to_move is not None or s.potential_loss_yuan is not None or s.households is not None:
        warnings.append("情况中含险情指标（受威胁人数/户数、潜在经济损失），灾情分级不使用它们；残余威胁请另做险情分级")
    return _grade("灾情", rules, values, assumptions, warnings)


def _missing_persons_warning(s: Situation, scale: Scale, rules: RuleSet) -> str:
    text = (f"另有{describe('missing', s.missing)}失踪，未计入因灾死亡人数（{scale.citation}只计因灾死亡）")
    combined = (s.deaths or 0) + s.missing
    current = _reach(scale, "deaths", s.deaths)[0] if s.deaths is not None else None
    would = _reach(scale, "deaths", combined)[0]
    if would is not None and (current is None or rules.rank(would.grade) < rules.rank(current.grade)):
        text += f"；若失踪人员确认遇难（共{describe('deaths', combined)}），按死亡人数将达{would.grade}"
    return text + "，请跟进核实"


def _present(s: Situation, *names: str) -> dict[str, tuple[float, str, bool]]:
    return {n: (getattr(s, n), s.source_text(n), s.is_approx(n)) for n in names if getattr(s, n) is not None}


def _notes(s: Situation, names: tuple[str, ...]) -> tuple[list[str], list[str]]:
    relevant = [n for n in s.notes if set(n.fields) & set(names)]
    return [n.text for n in relevant if n.assumption], [n.text for n in relevant if not n.assumption]


def _near_boundary(scale: Scale, key: str, value: float, grade: str, written: str) -> list[str]:
    """An approximate figure within ±10% of a grade boundary could belong to another grade: say so."""
    others = {g.grade for v in (value * 0.9, value * 1.1) if (g := _reach(scale, key, v)[0]) and g.grade != grade}
    if not others:
        return []
    return [f"“{written}”是约数，按{describe(key, value)}定为{grade}；实际数字稍有出入即可能为{'或'.join(sorted(others))}，请核实准确数字"]


def _reach(scale: Scale, key: str, value: float):
    """(highest grade rule whose threshold contains value, all matching rules)."""
    matches = [g for g in scale.grades if g.thresholds[key].contains(value)]
    return (matches[0] if matches else None), matches


def _grade(scale_name: str, rules: RuleSet, values: dict, assumptions: list[str], warnings: list[str]) -> Grade:
    scale = rules.scales[scale_name]
    figures = []
    for c in scale.criteria:
        if c.key not in values:
            continue
        value, source_text, approx = values[c.key]
        display = describe(c.key, value)
        top, matches = _reach(scale, c.key, value)
        if top is None:
            warnings.append(f"{c.label}{display}不落在{scale.citation}的任何等级内，请检查分级规则数据")
            continue
        note = ""
        if len(matches) > 1:
            shared = "”与“".join(m.thresholds[c.key].text for m in matches)
            note = f"{display}同时符合“{shared}”，按较高等级取{top.grade}"
        if approx and not source_text.endswith(ESTIMATED):
            warnings += _near_boundary(scale, c.key, value, top.grade, source_text or display)
        figures.append(Figure(c.key, c.label, value, display, source_text or display, approx, top.grade,
                              top.thresholds[c.key].text, note))
    missing = [c.label for c in scale.criteria if c.key not in values]
    base = dict(scale=scale_name, rule_set=rules.id, rule_set_name=rules.name, rule_selection=rules.selection_note,
                document=scale.document, article=f"{scale.article}{scale.paragraph}", wording=scale.wording,
                levels_source=rules.levels_source)
    if scale.note:
        warnings.append(scale.note)
    if not figures:
        needed = ("或".join(c.label for c in scale.criteria),) if len(missing) == len(scale.criteria) else missing
        return Grade(grade=None, level_roman=None, level_name=None, response_level=None, response_level_cn=None,
                     figures=(), missing=tuple(needed), assumptions=tuple(assumptions), warnings=tuple(warnings),
                     **base)
    best = min(rules.rank(f.grade) for f in figures)
    level = rules.levels[best]
    lower_bound = bool(missing) and best > 0
    if lower_bound:
        warnings.append(f"缺少{'、'.join(missing)}，现按已知指标定级，补充后等级可能更高")
    return Grade(grade=level.grade, level_roman=level.roman, level_name=level.name, response_level=level.response,
                 response_level_cn=level.response_cn,
                 figures=tuple(replace(f, decisive=rules.rank(f.grade) == best) for f in figures),
                 missing=tuple(missing), assumptions=tuple(assumptions), warnings=tuple(warnings),
                 lower_bound=lower_bound, **base)
