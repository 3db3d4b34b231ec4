"""Descriptive fields of a situation report, extracted by the model under a JSON schema.

The model only copies spans out of the report (place, time, volume, rain, warning colour, observed signs);
a span that is not in the report is dropped. Figures that decide a grade are never taken from here: code
reads them (situation.py).
"""

from __future__ import annotations

import json
import re

from app.reason.generation import EXTRACT_TOKENS
from app.reason.prompts import Prompt

FIELDS = ("hazard_type", "place", "time", "volume", "rainfall", "warning_level")
SCHEMA = {
    "type": "object",
    "properties": {**{f: {"type": "string"} for f in FIELDS},
                   "signs": {"type": "array", "items": {"type": "string"}}},
    "required": [*FIELDS, "signs"],
}


def extract_details(llm, prompt: Prompt, report: str, seed: int = 42) -> dict:
    """Spans of the report for each descriptive field (prompts/extract.md); anything not found verbatim in the
    report is dropped."""
    reply = llm.create_chat_completion(
        messages=prompt.render(report=report),
        max_tokens=EXTRACT_TOKENS, temperature=0.0, seed=seed,
        response_format={"type": "json_object", "schema": SCHEMA},
    )
    try:
        raw = json.loads(reply["choices"][0]["message"]["content"] or "{}")
    except (json.JSONDecodeError, KeyError, IndexError, TypeError):
        raw = {}
    return keep_verbatim(raw, report)


# What a field's span must mention to be that field (a small model copies "180人" into volume, "0" into rain).
_SHAPE = {
    "volume": re.compile(r"方|m³|m3|立方|体积|规模|长|宽|厚"),
    "rainfall": re.compile(r"雨|mm|毫米|降水"),
    "warning_level": re.compile(r"红|橙|黄|蓝|预警|警报"),
    "time": re.compile(r"\d|[年月日时分点晨晚夜午]"),
}
_MEANINGFUL = re.compile(r"[\u4e00-\u9fffA-Za-z]")


def keep_verbatim(raw: dict, report: str) -> dict:
    compact = report.replace(" ", "")

    def ok(value, field: str = "") -> bool:
        if not isinstance(value, str) or not _MEANINGFUL.search(value) or value.replace(" ", "") not in compact:
            return False
        shape = _SHAPE.get(field)
        return shape is None or bool(shape.search(value))

    details = {f: (raw.get(f) if ok(raw.get(f), f) else "") for f in FIELDS}
    details["signs"] = [s for s in raw.get("signs", []) if ok(s)] if isinstance(raw.get("signs"), list) else []
    return details


# ---- the same fields read by code first (the model is asked only for what these leave empty) ----------------
_HAZARD_WORDS = re.compile(r"地面塌陷|泥石流|滑坡|崩塌|地裂缝|地面沉降|危岩|落石")
_PLACE_PART = re.compile(r"[\u4e00-\u9fa5]{1,8}?(?:省|自治区|市|州|盟|县|区|旗|镇|乡|街道|村|组|社区|屯|寨)")
_TIME = re.compile(r"\d{4}年\d{1,2}月\d{1,2}日(?:凌晨|上午|中午|下午|晚上|夜间)?(?:\d{1,2}时(?:\d{1,2}分)?)?|\d{1,2}月\d{1,2}日(?:凌晨|上午|中午|下午|晚上|夜间)?"
                   r"(?:\d{1,2}时(?:\d{1,2}分)?)?|(?:今天|昨天|今晨|昨晚|今日)(?:凌晨|上午|中午|下午|晚上|夜间)?(?:\d{1,2}时)?")
_CLAUSE = re.compile(r"[^，,。；;\n]+")
_SIGN_WORDS = ("裂缝", "鼓胀", "隆起", "下错", "开裂", "异响", "响声", "掉块", "落石", "浑浊", "断流", "冒浑水", "歪斜",
               "渗水", "位移", "变形")


def details_from_text(report: str) -> dict:
    """The descriptive fields by code: hazard type, place (the run of place names), time, volume, rain, warning
    colour, observed signs — each a span of the report, "" when absent (keep_verbatim's shape)."""
    clauses = [c.strip() for c in _CLAUSE.findall(report) if c.strip()]

    def clause_with(pattern) -> str:
        return next((c for c in clauses if re.search(pattern, c)), "")

    place = ""
    for m in re.finditer(rf"(?:{_PLACE_PART.pattern})+", report):
        if len(m.group(0)) > len(place):
            place = m.group(0)
    hazard = _HAZARD_WORDS.search(report)
    time_match = _TIME.search(report)
    raw = {"hazard_type": hazard.group(0) if hazard else "", "place": place,
           "time": time_match.group(0) if time_match else "",
           "volume": clause_with(r"方量|立方|万方|\d\s*方|体积|规模"), "rainfall": clause_with(r"雨|降水|毫米|mm"),
           "warning_level": clause_with(r"[红橙黄蓝]色预警|预警"),
           "signs": [c for c in clauses if any(w in c for w in _SIGN_WORDS)]}
    return keep_verbatim(raw, report)


def merge_details(by_code: dict, by_model: dict) -> dict:
    """Code's fields, with the model's filling only what code left empty."""
    out = dict(by_code)
    for key, value in by_model.items():
        if not out.get(key):
            out[key] = value
    return out
