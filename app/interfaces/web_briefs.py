"""The duty-brief tab's stateless handlers: fill a brief from the latest assessment, preview it with its
completeness check. (Saving a version needs the settings: Handlers.save_brief.)"""

from __future__ import annotations

import gradio as gr

from app.interfaces.html import escape_markdown
from app.reason.brief import EXTRA, check_brief, elements, fields_from_assessment, render_brief

EXTRA_KEYS = [key for extra in EXTRA.values() for key, _, _ in extra]
BRIEF_KEYS = [key for key, _, _ in elements("速报")] + EXTRA_KEYS


def fill_brief(assessment: dict | None, *values):
    current = dict(zip(BRIEF_KEYS, values))
    if not assessment:
        gr.Warning("还没有研判结果：请先在“险情研判”页或对话中描述险情。/ no assessment yet")
        return [gr.skip()] * len(BRIEF_KEYS)
    filled = fields_from_assessment(assessment)
    return [filled.get(k) or current.get(k, "") for k in BRIEF_KEYS]


def preview_brief(kind: str, *values):
    fields = dict(zip(BRIEF_KEYS, values))
    check = check_brief(kind, fields)
    if check.complete:
        status = "✅ 要素齐全，可以报送。"
    else:
        status = "⚠ 尚缺：" + "、".join(check.missing + check.warnings)
    shown = {key for key, _, _ in EXTRA.get(kind, ())}
    shown_fields = {k: escape_markdown(v or "") for k, v in fields.items()}  # a title's [link](…) stays text
    return render_brief(kind, shown_fields), status, *[gr.update(visible=key in shown) for key in EXTRA_KEYS]
