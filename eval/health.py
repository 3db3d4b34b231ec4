"""Generation health of an answer (issue 17): did the model loop, leak the format's markers, copy the prompt's
format lines back as reasoning, end empty; how many tokens it wrote. Scored from the `ask` JSON, for ours and the
baseline alike (the baseline has no reasoning and no cut-off flag)."""

from __future__ import annotations

import re
from functools import lru_cache

from app.config import PROJECT_ROOT
from app.reason.prompts import load_prompt
from app.reason.reasoning import is_template

_MARKER = re.compile(r"【\s*(?:推理|回答|答案)(?:过程)?\s*】")
_SENTENCE = re.compile(r"[^。！？!?；;\n]{8,}")


@lru_cache(maxsize=None)
def _prompt(name: str):
    return load_prompt(PROJECT_ROOT / "prompts", name)


def model_text(payload: dict) -> str:
    """What the model wrote that the reader sees: the answer, or an assessment's explained fields (its rendered
    card carries section headings by design)."""
    card = payload.get("assessment")
    if not card:
        return payload.get("answer", "")
    evacuation = card.get("evacuation") or {}
    parts = [*(card.get("response_requirements") or []), *(card.get("risk_factors") or []),
             *[v for v in evacuation.values() if v]]
    return "\n".join(parts)


def health(payload: dict) -> dict:
    text = model_text(payload)
    sentences = [re.sub(r"\[\d+\]", "", s).strip() for s in _SENTENCE.findall(text)]
    prompt = _prompt("assess" if payload.get("assessment") else "answer")
    reasoning = payload.get("reasoning") or []
    refused = bool(payload.get("refused"))
    return {
        "completion_tokens": (payload.get("timings") or {}).get("completion_tokens"),
        "cut_off": payload.get("cut_off"),
        "marker_leak": bool(_MARKER.search(text)),
        "repeated_block": len(sentences) != len(set(sentences)),
        "template_steps": sum(is_template(step, prompt) for step in reasoning),
        "empty_answer": not refused and not re.sub(r"\[\d+\]|\s", "", text),
    }


def health_summary(rows: list[dict]) -> dict:
    tokens = sorted(r["completion_tokens"] for r in rows if r.get("completion_tokens"))
    return {
        "answers_with_loop_or_marker": sum(bool(r.get("marker_leak") or r.get("repeated_block")) for r in rows),
        "template_reasoning_steps": sum(r.get("template_steps") or 0 for r in rows),
        "empty_answers": sum(bool(r.get("empty_answer")) for r in rows),
        "cut_off": sum(bool(r.get("cut_off")) for r in rows),
        "completion_tokens_median": tokens[len(tokens) // 2] if tokens else None,
        "completion_tokens_total": sum(tokens),
    }
