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
