"""Evacuation advice from the evidence (code, not the model): for each field of the card (scope, routes,
priority groups, return rule) the evidence sentence that covers it best, for this kind of hazard, from rules rather
than accounts of one event; one sentence fills one field."""

from __future__ import annotations

import re

from app.reason.requirements import NARRATIVE
from app.schema import Chunk

ARTICLE_ONLY = re.compile(r"^\s*第[一二三四五六七八九十百]+条\s*$")
HAZARD_TYPES = ("泥石流", "滑坡", "崩塌", "地面塌陷", "地裂缝", "地面沉降", "危岩", "落石")
EVACUATION_KEYS = ("scope", "routes", "priority_groups", "return_rule")

# What each part of the recommendation is about: words that find the passage (retrieval) and the sentence.
FIELD_TERMS = {
    "response_requirements": ("应急响应", "启动", "预案", "响应", "指挥", "赶赴", "会商"),
    "scope": ("范围", "危险区", "影响", "堆积", "滑动", "安全距离", "边界", "划定"),
    "routes": ("路线", "撤离", "转移", "高处", "两侧", "沟道", "穿越", "避开", "安置"),
    "priority_groups": ("老人", "儿童", "学校", "行动不便", "叫应", "叫醒", "到户到人", "敲门", "广播"),
    "return_rule": ("返回", "解除", "撤销", "看守", "劝阻", "回迁"),
}


# Words that name the same kind of hazard: a rule for one kind is not advice for another.
_KIND_WORDS = {"崩塌": ("崩塌", "危岩", "落石"), "危岩": ("崩塌", "危岩", "落石"), "落石": ("崩塌", "危岩", "落石")}


def about_other_hazard(sentence: str, hazard_type: str | None) -> bool:
    """True when the sentence is about another kind of hazard only (a debris-flow escape rule for a landslide)."""
    if not hazard_type:
        return False
    own = _KIND_WORDS.get(hazard_type, (hazard_type,))
    return any(h in sentence for h in HAZARD_TYPES if h not in own) and not any(w in sentence for w in own)


def extract_sentence(field_name: str, chunks: list[Chunk], hazard_type: str | None, taken: set[str]) -> str:
    """The evidence sentence that best covers a field, with its citation marker; "" when none does. The sentence
    is added to `taken` (normalised), so one sentence fills one field."""
    best, best_score = best_sentence(field_name, chunks, hazard_type, taken)
    if best_score >= 2:
        taken.add(re.sub(r"\[\d+\]$", "", best))
        return best
    return ""


def best_sentence(field_name: str, chunks: list[Chunk], hazard_type: str | None,
                  taken: set[str]) -> tuple[str, float]:
    """(the best-scoring sentence for a field with its marker, its score); ("", 0) when none scores."""
    terms = FIELD_TERMS[field_name]
    best, best_score = "", 0.0
    for n, chunk in enumerate(chunks, start=1):
        for sentence in re.findall(r"[^。；\n]{8,160}[。；]?", chunk.text):
            if sentence.strip().rstrip("。；") in taken or ARTICLE_ONLY.match(sentence) \
                    or sentence.lstrip().startswith(("#", "|")):
                continue
            if about_other_hazard(sentence, hazard_type):
                continue  # advice for another kind of hazard (a debris-flow route is no route from a landslide)
            score = sum(1 for t in terms if t in sentence)
            if hazard_type and hazard_type in sentence:
                score += 0.5
            if hazard_type and any(h in sentence for h in HAZARD_TYPES if h != hazard_type):
                score -= 1  # names another kind of hazard as well
            if chunk.doc_type == "case" or NARRATIVE.search(sentence):
                score -= 1  # what one event did is not what the rules require
            if score > best_score:
                best, best_score = f"{sentence.strip().rstrip('。；')}[{n}]", score
    return best, best_score


def evacuation_fields(chunks: list[Chunk], hazard_type: str | None, taken: set[str], extracted, scope: str) -> dict:
    """Each evacuation field's evidence sentence; a sentence that fits several goes to the field it fits best
    (fields pick in the order of their best score), and `scope` (the code's runout estimate) leads the scope."""
    best = {k: best_sentence(k, chunks, hazard_type, taken)[1] for k in EVACUATION_KEYS}
    picked = {k: extracted(k) for k in sorted(EVACUATION_KEYS, key=lambda k: -best[k])}
    return {k: "；".join(([scope] if k == "scope" and scope else []) + picked[k]) for k in EVACUATION_KEYS}
