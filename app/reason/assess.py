"""Situation assessment: code reads the figures and computes the grade from the cited rule; the model only
explains it and drafts the evacuation recommendation, under a JSON schema, citing the evidence."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from app.reason.citations import check_citations, check_shown_citations, evidence_block, renumbered_stream
from app.reason.injection import withheld_numbers, withhold
from app.reason.generation import EXPLAIN_TOKENS, StreamGuard
from app.reason.llm import Generation, stream_chat
from app.reason.grading import Grade, grade_disaster, grade_hazard, select_rules, situation_from_text
from app.reason.prompts import Prompt
from app.reason.ruleset import RuleSet
from app.reason.reach import ReachEstimate, estimate_reach, reach_inputs_from_text
from app.reason.reach_render import render_reach
from app.reason.reasoning import built_assessment_steps
from app.reason.evacuation import EVACUATION_KEYS, FIELD_TERMS, HAZARD_TYPES, evacuation_fields, extract_sentence
from app.reason.requirements import level_requirements, rule_passage
from app.reason.situation import Situation
from app.reason.verify import verify_claims
from app.schema import Chunk, Citation, Hit

_PROVINCES = (
    "北京 天津 上海 重庆 河北 山西 辽宁 吉林 黑龙江 江苏 浙江 安徽 福建 江西 山东 河南 湖北 湖南 广东 海南 四川 贵州 "
    "云南 陕西 甘肃 青海 台湾 内蒙古 广西 西藏 宁夏 新疆 香港 澳门"
).split()
_PLACE = re.compile(r"[\u4e00-\u9fa5]{2,8}?(?:省|自治区|市|州|县|区|镇|乡|村|组|社区)")
# Section headings the model writes (prompts/assess.md) → fields of the assessment.
SECTIONS = {
    "推理": "reasoning", "说明": "grade_basis", "等级依据": "grade_basis", "响应要求": "response_requirements", "风险因素": "risk_factors",
    "转移范围": "scope", "转移路线和去处": "routes", "重点人群和叫应": "priority_groups", "返回条件": "return_rule",
    "缺少的信息": "missing_information",
}
_HEADING = re.compile(r"【\s*(" + "|".join(SECTIONS) + r")\s*】")
# Said in "缺少的信息" when the explanation was cut (reason/generation.py); the empty parts come from extraction.
CUT_NOTES = {"repetition": "模型的说明开始重复，重复部分已截去",
             "length": "模型的说明达到长度上限被截断，未写完的部分已按资料摘录补足或列为缺少"}
DISASTER_FIGURES = ("deaths", "missing", "direct_loss_yuan")
HAZARD_FIGURES = ("people_to_move", "households", "potential_loss_yuan")


@dataclass
class Assessment:
    text: str
    situation: Situation
    hazard_type: str | None
    region: str | None
    grades: list[Grade]
    hits: list[Hit] = field(default_factory=list)
    explanation: dict = field(default_factory=dict)
    citations: list[Citation] = field(default_factory=list)
    invalid_citations: list[str] = field(default_factory=list)
    unverified: list[str] = field(default_factory=list)
    timings: dict = field(default_factory=dict)
    details: dict = field(default_factory=dict)  # descriptive fields copied from the report (extract.py)
    reach: ReachEstimate | None = None  # runout estimate for slides, rockfalls and debris flows (reach.py)
    changes: list[str] = field(default_factory=list)  # what this message changed in the incident (incident.py)
    history: list[dict] = field(default_factory=list)  # every change of the incident so far, with its time

    def situation_json(self) -> dict:
        s = self.situation
        figures = {name: getattr(s, name) for name in HAZARD_FIGURES + DISASTER_FIGURES + ("injured",)
                   if getattr(s, name) is not None}
        return {**self.details, "hazard_type": self.details.get("hazard_type") or self.hazard_type,
                "region": self.region, "figures": figures,
                "figure_text": {name: s.source_text(name) for name in figures},
                "notes": [n.text for n in s.notes]}

    def to_json(self) -> dict:
        by_scale = {g.scale: g for g in self.grades}
        graded = [g for g in self.grades if g.grade]
        top = min(graded, key=lambda g: "ⅠⅡⅢⅣ".index(g.level_roman)) if graded else None
        exp = self.explanation
        missing = [m for g in self.grades for m in g.missing] + list(exp.get("missing_information", []))
        if self.reach is not None and self.reach.missing:
            missing.append("影响范围估算需要：" + "、".join(self.reach.missing))
        return {
            "hazard_type": self.hazard_type,
            "region": self.region,
            "situation": self.situation_json(),
            "hazard_grade": by_scale["险情"].to_json() if "险情" in by_scale else None,
            "disaster_grade": by_scale["灾情"].to_json() if "灾情" in by_scale else None,
            "response_level": top.response_level if top else None,
            "basis": [{"rule": g.citation, "summary": g.summary(), "explanation": exp.get("grade_basis", ""),
                       "passage": (exp.get("rule_passages") or {}).get(g.scale)} for g in self.grades],
            "response_requirements": exp.get("response_requirements", []),
            "risk_factors": exp.get("risk_factors", []),
            "evacuation": exp.get("evacuation", {}),
            "missing": list(dict.fromkeys(missing)),
            "reasoning": exp.get("reasoning", []),
            "impact_range": None if self.reach is None else {**self.reach.to_json(), "text": render_reach(self.reach)},
            "situation_changes": list(self.changes),
            "incident_history": list(self.history),
        }


def detect_hazard_type(text: str) -> str | None:
    return next((t for t in HAZARD_TYPES if t in text), None)


def impact_range(text: str) -> ReachEstimate | None:
    """How far a slide, rockfall or debris flow described in `text` may travel (code, from published relations);
    None for hazards the relations do not cover (地面塌陷, 地裂缝, 地面沉降)."""
    inputs = reach_inputs_from_text(text)
    return estimate_reach(inputs) if inputs.hazard_type is not None else None


def detect_region(text: str) -> str | None:
    """The province-level place named in the text, with the rest of its place name (重庆市巫山县…)."""
    for match in _PLACE.finditer(text):
        if any(match.group(0).startswith(p) for p in _PROVINCES):
            return match.group(0)
    return next((p for p in _PROVINCES if p in text), None)


_GRADE_REQUEST = re.compile(r"等级|定级|几级|定几|研判")
_EVENT = re.compile(r"发生|出现|发现|报告|报来|冲毁|掩埋|伤亡")


_REACH_REQUEST = re.compile(r"波及|影响范围|影响到|影响距离|多远|撤离范围|转移范围|避让范围|安全距离|危险范围"
                            r"|会不会被|是否安全|安全吗|到得了|冲到|埋到|压到|危及")
_REACH_FIGURES = ("volume_m3", "height_m", "slope_height_m", "channel_length_m")


def asks_reach(text: str) -> bool:
    """A described slide, rockfall or debris flow with its own figures (方量, 高差, 坡高, 沟长) and a question of
    how far it may reach or whether a place is safe: the reach estimate answers it, not the documents."""
    if not (detect_hazard_type(text) and _REACH_REQUEST.search(text)):
        return False
    return any(name in reach_inputs_from_text(text).from_text for name in _REACH_FIGURES)


def read_situation(text: str) -> Situation | None:
    """The situation a message describes, parsed once (the router passes it on to grading); None when the
    message is a question rather than a described event: no figure that decides a grade, not an event
    report that asks for its grade, and not a described hazard asking how far it may reach."""
    s = situation_from_text(text)
    if any(getattr(s, name) is not None for name in HAZARD_FIGURES + DISASTER_FIGURES):
        return s
    if detect_hazard_type(text) and _GRADE_REQUEST.search(text) and _EVENT.search(text):
        return s
    if asks_reach(text):
        return s
    return None


def is_situation(text: str) -> bool:
    """A described event: figures that decide a grade, or an event report that asks for its grade."""
    return read_situation(text) is not None


def grade_situation(text: str, available_rules: set[str], region: str | None = None,
                    persons_per_household: float | None = None, situation: Situation | None = None,
                    plan: RuleSet | None = None) -> tuple[Situation, list[Grade], str | None]:
    """Grade the figures of `text` (already parsed when `situation` is given) by the rules that apply; `plan` is
    the grading read from the region's own plan in the knowledge base (see plan_rules.rules_for_region)."""
    region = region or detect_region(text)
    situation = replace(situation, region=region) if situation is not None else situation_from_text(text, region)
    rules = select_rules(region, available_rules, plan)
    has = {name for name in HAZARD_FIGURES + DISASTER_FIGURES if getattr(situation, name) is not None}
    grades = []
    if has & set(HAZARD_FIGURES) or not has & set(DISASTER_FIGURES):
        grades.append(grade_hazard(situation, rules, persons_per_household=persons_per_household))
    if has & set(DISASTER_FIGURES):
        grades.append(grade_disaster(situation, rules))
    return situation, grades, region


def evidence_queries(text: str, grades: list[Grade], hazard_type: str | None) -> list[str]:
    """Queries for the evidence: the report itself, the grading rule, the response level, each advice field."""
    kind = hazard_type or "地质灾害"
    queries = [text]
    for g in grades:
        queries.append(f"{g.scale}分级 {g.grade or ''} {g.citation} 人数 经济损失")
        if g.grade:
            queries.append(f"{g.grade}地质灾害 {g.response_level}应急响应 {g.level_name} 措施 要求")
    queries += [f"{kind} {' '.join(terms)}" for name, terms in FIELD_TERMS.items() if name != "response_requirements"]
    return queries


def grading_text(grades: list[Grade]) -> str:
    lines = []
    for g in grades:
        lines.append(g.summary())
        lines += [f"缺少：{m}" for m in g.missing] + [f"提示：{w}" for w in g.warnings]
    return "\n".join(lines)


RISK_WORDS = {
    "降雨": ("雨", "暴雨", "降水"), "裂缝": ("裂缝", "拉裂", "开裂"), "鼓胀": ("鼓胀", "隆起"),
    "异响": ("异响", "响声", "轰鸣"), "泉水或井水异常": ("泉水", "井水", "浑浊"), "落石": ("落石", "掉块"),
    "预警": ("红色预警", "橙色预警", "黄色预警", "蓝色预警"),
}


def risk_factors(text: str) -> list[str]:
    """Risk factors the report itself names (rain, precursors, warnings), marked as from the report."""
    found = []
    for name, words in RISK_WORDS.items():
        hit = next((w for w in words if w in text), None)
        if hit:
            found.append(f"报告提到{hit if len(hit) > 1 else name}（据报告）")
    return found


def parse_sections(raw: str) -> dict[str, list[str]]:
    """Split the model's sectioned text into lists of items per field; unknown text is dropped."""
    out: dict[str, list[str]] = {field_name: [] for field_name in SECTIONS.values()}
    marks = list(_HEADING.finditer(raw))
    for mark, nxt in zip(marks, marks[1:] + [None]):
        body = raw[mark.end(): nxt.start() if nxt else len(raw)]
        items = [re.sub(r"^\s*(?:[-*•·]|\d+[.、．])\s*", "", ln).strip() for ln in body.splitlines()]
        out[SECTIONS[mark.group(1)]] += [i for i in items if i]
    return out


# Characters of each passage the model reads for its 说明, by rank: the rule, the level's section, one more.
ASSESS_BUDGETS = (280, 180, 120)


def explain(llm, prompt: Prompt, text: str, grades: list[Grade], hits: list[Hit], *, max_tokens: int,
            seed: int, hazard_type: str | None = None, model_evidence: int | None = None, region: str | None = None,
            on_token=None, scope: str = "") -> tuple[dict, list[int], list[str], list[str], Generation]:
    """The card's advice, assembled by code from the evidence: 响应要求 from the applicable section for the
    computed level (requirements.py), each evacuation field from a rule for this hazard type, risk factors from
    the report; `scope` (the code's runout estimate) leads the scope field. The model writes one short cited
    explanation (prompts/assess.md, one call); only markers that point at evidence are kept and claims the
    cited passages do not hold are flagged."""
    chunks = withhold([h.chunk for h in hits])  # passages that give the model orders are not evidence
    withheld = withheld_numbers(chunks)
    read = [n for n, c in enumerate(chunks[:model_evidence or len(ASSESS_BUDGETS)], start=1)
            if c.text]  # shown as [1]..[m], no gap
    # each passage cut to its window most relevant to the report and the grade (prefill is most of the time)
    messages = prompt.render(situation=text, grading=grading_text(grades),
                             evidence=evidence_block([chunks[n - 1] for n in read], budgets=ASSESS_BUDGETS,
                                                     question=f"{text} {grading_text(grades)}"))
    gen = stream_chat(llm, messages, min(max_tokens, EXPLAIN_TOKENS), 0.0, seed,
                      on_token=renumbered_stream(on_token, read), guard=StreamGuard(tuple(SECTIONS), final="说明"))
    used: list[int] = []
    invalid: list[str] = []
    unverified: list[str] = []
    user_text = text + "\n" + grading_text(grades)

    def clean(value: str) -> str:
        check = check_citations(value, len(chunks), withheld)
        invalid.extend(check.invalid)
        used.extend(n for n in check.used if n not in used)
        verification = verify_claims(check.text, chunks, user_text=user_text)
        unverified.extend(verification.unsupported)
        return verification.text

    def model_item(item: str) -> str:
        check = check_shown_citations(item, read)
        invalid.extend(check.invalid)
        return clean(check.text) if check_citations(check.text, len(chunks), withheld).used else ""

    sections = parse_sections(gen.text)
    graded = [g for g in grades if g.grade]
    top = min(graded, key=lambda g: "ⅠⅡⅢⅣ".index(g.level_roman)) if graded else None
    taken: set[str] = set()

    def extracted(name: str) -> list[str]:
        sentence = extract_sentence(name, chunks, hazard_type, taken)
        return [clean(sentence)] if sentence else []

    basis = [x for x in (model_item(i) for i in sections["grade_basis"]) if x]
    rule_refs = {g.scale: n for g in grades if (n := rule_passage(chunks, g))}  # the threshold's own passage
    used.extend(n for n in rule_refs.values() if n not in used)
    out = {
        "reasoning": built_assessment_steps([g.summary() for g in grades], hits, read),
        "grade_basis": "；".join(basis),
        "rule_passages": rule_refs,
        "response_requirements": [clean(r) for r in level_requirements(chunks, top.level_roman, region)] if top else [],
        "risk_factors": risk_factors(text),
        "evacuation": evacuation_fields(chunks, hazard_type, taken, extracted, scope),
        "missing_information": [],
    }
    labels = {"response_requirements": f"{top.response_level}应急响应的处置要求" if top else "该响应级别的处置要求",
              "scope": "转移范围的划定", "routes": "转移路线和安置点", "priority_groups": "重点人群和叫应",
              "return_rule": "返回条件"}
    empty = [k for k in labels if not (out["evacuation"].get(k) if k in EVACUATION_KEYS else out[k])]
    out["missing_information"] += [f"资料中未找到关于{labels[k]}的依据，请查阅本地应急预案" for k in empty]
    if gen.cut_off:
        out["missing_information"].append(CUT_NOTES[gen.cut_off])
    return out, used, invalid, unverified, gen
