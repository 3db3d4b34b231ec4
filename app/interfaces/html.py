"""HTML for the web UI: sources with the cited words highlighted, the grade card, unverified-sentence marks.

Every piece of document or user text goes through `html.escape` here: a document may contain <script> or
Markdown, and it is shown, never run. These are pure functions of JSON payloads (tests/test_web_html.py).
"""

from __future__ import annotations

import difflib
import html
import re

from app.interfaces.render import grade_notes
from app.reason.citations import SENTENCE
from app.reason.verify import FLAG

_MARK = re.compile(r"\[(\d+)\]")
_MD_SPECIAL = re.compile(r"([\\`*_#|~!()-])")
# Response level → colour of the grade card (Ⅰ red … Ⅳ blue), as the warning colours run.
LEVEL_COLOURS = {"Ⅰ": ("#b71c1c", "红"), "Ⅱ": ("#e65100", "橙"), "Ⅲ": ("#f9a825", "黄"), "Ⅳ": ("#1565c0", "蓝")}


def cited_sentences(answer: str) -> dict[int, list[str]]:
    """For each marker n, the answer sentences that cite it (without their markers)."""
    out: dict[int, list[str]] = {}
    for sentence in SENTENCE.findall(answer):
        plain = _MARK.sub("", sentence).replace(FLAG, "").strip()
        for n in map(int, _MARK.findall(sentence)):
            out.setdefault(n, []).append(plain)
    return out


def highlight_spans(passage: str, sentences: list[str], min_len: int = 4) -> list[tuple[int, int]]:
    """Character spans of the passage that the citing sentences repeat (common runs of ≥ min_len chars)."""
    spans: list[tuple[int, int]] = []
    for sentence in sentences:
        matcher = difflib.SequenceMatcher(None, passage, sentence, autojunk=False)
        spans += [(b.a, b.a + b.size) for b in matcher.get_matching_blocks() if b.size >= min_len]
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def highlighted(passage: str, spans: list[tuple[int, int]]) -> str:
    out, pos = [], 0
    for start, end in spans:
        out.append(html.escape(passage[pos:start]))
        out.append(f"<mark>{html.escape(passage[start:end])}</mark>")
        pos = end
    out.append(html.escape(passage[pos:]))
    return "".join(out)


def sources_html(citations: list[dict], answer: str = "", sections: dict[int, str] | None = None,
                 hits: list[dict] | None = None, status: str = "") -> str:
    """The sources panel: each cited passage (title, locator, page, passage with cited words marked), its full
    section on click. Before the answer exists, `hits` (retrieved passages) are listed instead."""
    sections = sections or {}
    parts = [f'<div class="gh-status">{html.escape(status)}</div>'] if status else []
    if citations:
        by_n = cited_sentences(answer)
        parts.append('<div class="gh-sources-title">引用的资料（点击展开原文）</div>')
        for c in citations:
            passage = c.get("text", "")
            body = highlighted(passage, highlight_spans(passage, by_n.get(c["n"], [])))
            full = sections.get(c["n"])
            section = (f'<details class="gh-section"><summary>查看完整条文/章节</summary>'
                       f'<div class="gh-passage">{html.escape(full)}</div></details>') if full else ""
            parts.append(
                f'<details class="gh-source" id="gh-source-{c["n"]}"><summary><b>[{c["n"]}]</b> '
                f'《{html.escape(c.get("title", ""))}》 {html.escape(_where(c))}</summary>'
                f'<div class="gh-passage">{body}</div>{section}'
                f'<div class="gh-path">{html.escape(_file_name(c.get("source", "")))}</div></details>')
    elif hits:
        parts.append('<div class="gh-sources-title">检索到的资料（回答生成中）</div>')
        for h in hits:
            parts.append(
                f'<details class="gh-source"><summary>{h["rank"]}. 《{html.escape(h.get("title", ""))}》 '
                f'{html.escape(_where(h))}</summary><div class="gh-passage">{html.escape(h.get("text", ""))}</div>'
                f'</details>')
    elif not status:
        parts.append('<div class="gh-empty">提问后，这里列出回答引用的资料原文。</div>')
    return '<div class="gh-sources">' + "".join(parts) + "</div>"


def _file_name(source: str) -> str:
    """A document's file name only: the server's folders are not shown to the browser."""
    return source.replace("\\", "/").rsplit("/", 1)[-1]


def _where(item: dict) -> str:
    return " ".join(x for x in (item.get("locator", ""), item.get("page", "")) if x)


def answer_markdown(payload: dict) -> str:
    """The chat bubble: the answer with document text escaped and unverified sentences visibly marked."""
    text = payload.get("answer", "")
    if payload.get("assessment"):
        text = text.replace("【推理过程】", "【推理过程（见上方折叠栏）】", 1).split("【推理过程")[0].rstrip()
    text = escape_markdown(text)
    out = []
    for sentence in SENTENCE.findall(text):
        if FLAG in sentence:
            out.append(f"<span class=\"gh-unverified\" title=\"未能在引用资料中核实\">⚠ "
                       f"{sentence.replace(FLAG, '')}（未核实）</span>")
        else:
            out.append(sentence)
    body = _rejoin(text, out)
    notes = []
    if payload.get("invalid_citations"):
        notes.append(f"已删除无效引用：{' '.join(html.escape(m) for m in payload['invalid_citations'])}")
    if payload.get("unverified"):
        notes.append(f"{len(payload['unverified'])} 句未能在引用资料中核实，已标出，请核对原文。")
    if notes:
        body += "\n\n" + "\n".join(f"> ⚠ {n}" for n in notes)
    understood = payload.get("resolved_question")
    if understood and understood != payload.get("question") and not payload.get("assessment"):
        body = f"*理解为：{escape_markdown(understood)}*\n\n" + body
    return body


def _rejoin(text: str, sentences: list[str]) -> str:
    """Put (possibly rewritten) sentences back with the original newlines between them."""
    out, pos = [], 0
    for original, new in zip(SENTENCE.findall(text), sentences):
        at = text.find(original, pos)
        out.append(text[pos:at])
        out.append(new)
        pos = at + len(original)
    out.append(text[pos:])
    return "".join(out)


def escape_markdown(text: str) -> str:
    """Neutralise HTML and the Markdown that could hide or fake content (links, images, emphasis, raw tags)."""
    return html.escape(_MD_SPECIAL.sub(r"\\\1", text), quote=False)


def grade_card_html(assessment: dict, citations: list[dict], pending: str = "", figure: str = "") -> str:
    """险情/灾情 grade, response level colour-coded, the deciding rule, the impact range (with `figure`, the
    profile SVG drawn by code from the estimate), evacuation advice, missing information.
    `pending` marks a card shown before the model's advice has arrived (the grade itself is final)."""
    colour, colour_name = LEVEL_COLOURS.get((assessment.get("response_level") or "?")[0], ("#616161", "—"))
    rows = []
    for scale in ("hazard_grade", "disaster_grade"):
        grade = assessment.get(scale)
        if not grade:
            continue
        value = grade.get("grade") or "暂无法定级"
        if grade.get("grade") and grade.get("lower_bound"):
            value = "至少" + value
        level = f"{grade['level_roman']}级 {grade['level_name']}" if grade.get("level_roman") else ""
        rows.append(f'<div class="gh-grade-row"><span class="gh-grade-scale">{html.escape(grade["scale"])}</span>'
                    f'<span class="gh-grade-value">{html.escape(value)}</span>'
                    f'<span class="gh-grade-level">{html.escape(level)}</span></div>')
    response = assessment.get("response_level")
    head = (f'<div class="gh-card-head" style="background:{colour}">'
            f'{"应急响应：" + html.escape(response) + f"（{colour_name}）" if response else "等级待定：信息不足"}</div>')
    basis = "".join(f"<li>{html.escape(b['summary'])}{_marker(b.get('passage'))}</li>"
                    for b in assessment.get("basis") or [])
    notes = "".join(f"<li>{html.escape(w)}</li>" for w in grade_notes(assessment))
    sections = [head, "".join(rows), _list("定级依据（由程序按所引条文计算）", basis), _list("提示", notes)]
    impact = assessment.get("impact_range")
    if impact:
        lines = "".join(f"<li>{html.escape(x.strip())}</li>" for x in impact["text"].splitlines()[1:] if x.strip())
        sections.append(_list("影响范围估算（程序按经验公式计算，供划定撤离范围参考，不替代现场调查）", lines)
                        + (f'<div class="gh-reach-figure" id="reach-figure">{figure}</div>' if figure else ""))
    if pending:
        sections.append(f'<p class="gh-pending">⏳ {html.escape(pending)}</p>')
    names = {"scope": "转移范围", "routes": "路线和去处", "priority_groups": "重点人群和叫应", "return_rule": "返回条件"}
    evacuation = assessment.get("evacuation") or {}
    evac = "".join(f"<li><b>{names[k]}</b>：{html.escape(v)}</li>" for k, v in evacuation.items() if v and k in names)
    sections.append(_list("转移避险建议", evac))
    sections.append(_list("响应要求", "".join(f"<li>{html.escape(x)}</li>"
                                           for x in assessment.get("response_requirements") or [])))
    sections.append(_list("风险因素", "".join(f"<li>{html.escape(x)}</li>" for x in assessment.get("risk_factors") or [])))
    sections.append(_list("缺少的信息（请尽快核实补报）",
                          "".join(f"<li>{html.escape(x)}</li>" for x in assessment.get("missing") or [])))
    cites = "".join(f"<li>[{c['n']}] 《{html.escape(c['title'])}》 {html.escape(_where(c))}</li>" for c in citations)
    sections.append(_list("出处", cites))
    return f'<div class="gh-card" style="border-color:{colour}">' + "".join(s for s in sections if s) + "</div>"


def _list(title: str, items: str) -> str:
    return f'<div class="gh-card-part"><div class="gh-card-title">{title}</div><ul>{items}</ul></div>' if items else ""


CSS = """
.gh-sources details { border:1px solid #ddd; border-radius:6px; padding:6px 8px; margin:6px 0; }
.gh-sources summary { cursor:pointer; }
.gh-passage { white-space:pre-wrap; font-size:0.92em; margin-top:6px; }
.gh-passage mark { background:#fff176; }
.gh-path { color:#777; font-size:0.8em; margin-top:4px; word-break:break-all; }
.gh-status { color:#555; margin-bottom:6px; }
.gh-unverified { background:#ffebee; border-bottom:2px dotted #c62828; }
.gh-card { border:3px solid; border-radius:8px; overflow:hidden; }
.gh-card-head { color:#fff; font-size:1.3em; font-weight:bold; padding:10px 14px; }
.gh-grade-row { display:flex; gap:16px; padding:8px 14px; font-size:1.1em; border-bottom:1px solid #eee; }
.gh-grade-scale { font-weight:bold; min-width:3em; }
.gh-grade-value { font-weight:bold; }
.gh-card-part { padding:6px 14px; }
.gh-reach-figure svg { max-width:100%; height:auto; }
.gh-card-title { font-weight:bold; margin-top:4px; }
body, .gradio-container { font-family: system-ui, "Noto Sans CJK SC", "WenQuanYi Micro Hei", "Microsoft YaHei", "PingFang SC", sans-serif; }
"""


def _marker(n) -> str:
    """ [n] after a card line that a passage supports (n is an int from the code, never document text)."""
    return f" [{int(n)}]" if n else ""

