"""Situation assessment: code reads the figures and computes the grade from the cited rule; the model only
explains it and drafts the evacuation recommendation, under a JSON schema, citing the evidence."""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field

from app.reason.citations import check_citations, evidence_block
from app.reason.grading import Grade, grade_disaster, grade_hazard, select_rules, situation_from_text
from app.reason.prompts import Prompt
from app.reason.situation import Situation
from app.reason.verify import verify_claims
from app.schema import Citation, Hit

HAZARD_TYPES = ("泥石流", "滑坡", "崩塌", "地面塌陷", "地裂缝", "地面沉降", "危岩", "落石")
_PROVINCES = (
    "北京 天津 上海 重庆 河北 山西 辽宁 吉林 黑龙江 江苏 浙江 安徽 福建 江西 山东 河南 湖北 湖南 广东 海南 四川 贵州 "
    "云南 陕西 甘肃 青海 台湾 内蒙古 广西 西藏 宁夏 新疆 香港 澳门"
).split()
_PLACE = re.compile(r"[\u4e00-\u9fa5]{2,8}?(?:省|自治区|市|州|县|区|镇|乡|村|组|社区)")
_EVACUATION_KEYS = ("scope", "routes", "destination", "priority_groups", "warning", "return_rule")
_TEXT = {"type": "string"}
_LIST = {"type": "array", "items": _TEXT}
SCHEMA = {
    "type": "object",
    "properties": {
        "reasoning": _LIST,
        "grade_basis": _TEXT,
        "response_requirements": _LIST,
        "risk_factors": _LIST,
        "evacuation": {"type": "object", "properties": {k: _TEXT for k in _EVACUATION_KEYS},
                       "required": list(_EVACUATION_KEYS)},
        "missing_information": _LIST,
    },
    "required": ["reasoning", "grade_basis", "response_requirements", "risk_factors", "evacuation",
                 "missing_information"],
}
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

    def to_json(self) -> dict:
        by_scale = {g.scale: g for g in self.grades}
        graded = [g for g in self.grades if g.grade]
        top = min(graded, key=lambda g: "ⅠⅡⅢⅣ".index(g.level_roman)) if graded else None
        exp = self.explanation
        missing = [m for g in self.grades for m in g.missing] + list(exp.get("missing_information", []))
        return {
            "hazard_type": self.hazard_type,
            "region": self.region,
            "hazard_grade": by_scale["险情"].to_json() if "险情" in by_scale else None,
            "disaster_grade": by_scale["灾情"].to_json() if "灾情" in by_scale else None,
            "response_level": top.response_level if top else None,
            "basis": [{"rule": g.citation, "summary": g.summary(), "explanation": exp.get("grade_basis", "")}
                      for g in self.grades],
            "response_requirements": exp.get("response_requirements", []),
            "risk_factors": exp.get("risk_factors", []),
            "evacuation": exp.get("evacuation", {}),
            "missing": list(dict.fromkeys(missing)),
            "reasoning": exp.get("reasoning", []),
        }


def detect_hazard_type(text: str) -> str | None:
    return next((t for t in HAZARD_TYPES if t in text), None)


def detect_region(text: str) -> str | None:
    """The province-level place named in the text, with the rest of its place name (重庆市巫山县…)."""
    for match in _PLACE.finditer(text):
        if any(match.group(0).startswith(p) for p in _PROVINCES):
            return match.group(0)
    return next((p for p in _PROVINCES if p in text), None)


def is_situation(text: str) -> bool:
    """A description with figures that decide a grade (people threatened, deaths, losses)."""
    s = situation_from_text(text)
    return any(getattr(s, name) is not None for name in HAZARD_FIGURES + DISASTER_FIGURES)


def grade_situation(text: str, available_rules: set[str], region: str | None = None,
                    persons_per_household: float | None = None) -> tuple[Situation, list[Grade], str | None]:
    region = region or detect_region(text)
    situation = situation_from_text(text, region=region)
    rules = select_rules(region, available_rules)
    has = {name for name in HAZARD_FIGURES + DISASTER_FIGURES if getattr(situation, name) is not None}
    grades = []
    if has & set(HAZARD_FIGURES) or not has & set(DISASTER_FIGURES):
        grades.append(grade_hazard(situation, rules, persons_per_household=persons_per_household))
    if has & set(DISASTER_FIGURES):
        grades.append(grade_disaster(situation, rules))
    return situation, grades, region


def evidence_queries(text: str, grades: list[Grade], hazard_type: str | None) -> list[str]:
    kind = hazard_type or "地质灾害"
    queries = [text]
    for g in grades:
        queries.append(f"{g.scale}分级 {g.grade or ''} {g.citation} 人数 经济损失")
        if g.grade:
            queries.append(f"{g.grade}地质灾害 {g.response_level}应急响应 措施 要求")
    queries.append(f"{kind} 避险转移 范围 路线 安置 不得返回")
    return queries


def grading_text(grades: list[Grade]) -> str:
    lines = []
    for g in grades:
        lines.append(g.summary())
        lines += [f"缺少：{m}" for m in g.missing] + [f"提示：{w}" for w in g.warnings]
    return "\n".join(lines)


def explain(llm, prompt: Prompt, text: str, grades: list[Grade], hits: list[Hit], *, max_tokens: int,
            seed: int) -> tuple[dict, list[int], list[str], list[str], float]:
    """Ask the model for the schema'd explanation; keep only markers that point at evidence, flag claims."""
    chunks = [h.chunk for h in hits]
    messages = prompt.render(situation=text, grading=grading_text(grades), evidence=evidence_block(chunks))
    start = time.perf_counter()
    reply = llm.create_chat_completion(
        messages=messages, max_tokens=max_tokens, temperature=0.0, seed=seed,
        response_format={"type": "json_object", "schema": SCHEMA},
    )
    seconds = time.perf_counter() - start
    try:
        raw = json.loads(reply["choices"][0]["message"]["content"] or "{}")
    except json.JSONDecodeError:
        raw = {}
    used: list[int] = []
    invalid: list[str] = []
    unverified: list[str] = []
    user_text = text + "\n" + grading_text(grades)

    def clean(value: str) -> str:
        check = check_citations(str(value), len(chunks))
        invalid.extend(check.invalid)
        used.extend(n for n in check.used if n not in used)
        verification = verify_claims(check.text, chunks, user_text=user_text)
        unverified.extend(verification.unsupported)
        return verification.text

    out = {
        "reasoning": [str(s) for s in raw.get("reasoning", [])],
        "grade_basis": clean(raw.get("grade_basis", "")),
        "response_requirements": [clean(s) for s in raw.get("response_requirements", [])],
        "risk_factors": [clean(s) for s in raw.get("risk_factors", [])],
        "evacuation": {k: clean((raw.get("evacuation") or {}).get(k, "")) for k in _EVACUATION_KEYS},
        "missing_information": [str(s) for s in raw.get("missing_information", [])],
    }
    return out, used, invalid, unverified, seconds
