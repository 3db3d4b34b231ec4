"""Shared presentation for the CLI, web and API: the JSON shapes of the public contract and the Chinese text
renderings. Nothing below the interfaces layer uses it (the audit log stores structured fields)."""

from __future__ import annotations

from app.reason.assess import Assessment


def answer_json(answer, model_info) -> dict:
    return {
        "question": answer.question,
        "answer": answer.answer,
        "refused": answer.refused,
        "citations": [c.to_json() for c in answer.citations],
        "hits": [h.to_json() for h in answer.hits],
        "reasoning": answer.reasoning,
        "invalid_citations": answer.invalid_citations,
        "attributed_sentences": answer.attributed_sentences,
        "unsupported_sentences": len(answer.unverified),
        "unverified": answer.unverified,
        "prompt_version": answer.prompt_version,
        "model": {"name": model_info.name, "sha256": model_info.sha256},
        "timings": answer.timings,
        "cut_off": answer.cut_off,
        "reasoning_source": answer.reasoning_source,
        "resolved_question": answer.resolved_question or answer.question,
    }


def assessment_json(assessment, model_info) -> dict:
    return {
        "situation": assessment.text,
        "assessment": assessment.to_json(),
        "citations": [c.to_json() for c in assessment.citations],
        "hits": [h.to_json() for h in assessment.hits],
        "invalid_citations": assessment.invalid_citations,
        "unsupported_sentences": len(assessment.unverified),
        "unverified": assessment.unverified,
        "model": {"name": model_info.name, "sha256": model_info.sha256},
        "timings": assessment.timings,
    }


def assessment_as_answer(assessment, model_info) -> dict:
    """An assessment in the `ask` JSON shape (the contract), with the structured card under "assessment"."""
    data = assessment_json(assessment, model_info)
    return {
        "question": assessment.text,
        "answer": render_assessment(assessment),
        "refused": False,
        "citations": data["citations"],
        "hits": data["hits"],
        "reasoning": data["assessment"]["reasoning"],
        "invalid_citations": data["invalid_citations"],
        "attributed_sentences": 0,
        "unsupported_sentences": data["unsupported_sentences"],
        "unverified": data["unverified"],
        "prompt_version": "assess",
        "model": data["model"],
        "timings": data["timings"],
        "assessment": data["assessment"],
        "resolved_question": assessment.text,
        "situation_changes": data["assessment"]["situation_changes"],
    }


def render_answer(answer) -> str:
    lines = ["【回答】", answer.answer]
    if answer.resolved_question and answer.resolved_question != answer.question:
        lines.insert(0, f"（理解为：{answer.resolved_question}）")
    if answer.citations:
        lines.append("\n【出处】")
        for c in answer.citations:
            page = c.to_json()["page"]
            lines.append(f"[{c.n}] 《{c.chunk.title}》 {c.chunk.locator} {page}".rstrip() + _note(c.chunk))
    if answer.unverified:
        lines.append(f"\n⚠ {len(answer.unverified)} 句未能在引用资料中核实 / unverified sentences")
    if answer.invalid_citations:
        lines.append(f"\n⚠ 已删除无效引用 / removed invalid citations: {' '.join(answer.invalid_citations)}")
    return "\n".join(lines)


def grade_notes(data: dict) -> list[str]:
    """The grading's warnings (a plan's bounds that differ from the national table, a figure on a boundary,
    households not converted to people, a grade that may rise), once each; missing figures are listed apart."""
    notes = [w for key in ("hazard_grade", "disaster_grade") if data.get(key) for w in data[key].get("warnings", [])]
    return [w for w in dict.fromkeys(notes) if not w.startswith("缺少")]


def render_assessment(assessment) -> str:
    data = assessment.to_json()
    lines = ["【研判结果】"]
    if data["situation_changes"]:
        lines[:0] = ["【情况变化】", *[f"- {c}" for c in data["situation_changes"]], ""]
    for basis in data["basis"]:
        lines.append(f"- {basis['summary']}" + (f"（分级标准见[{basis['passage']}]）" if basis.get("passage") else ""))
    lines += [f"  提示：{w}" for w in grade_notes(data)]
    if data["basis"] and data["basis"][0]["explanation"]:
        lines.append(f"  说明：{data['basis'][0]['explanation']}")
    if data.get("impact_range"):
        lines += ["", data["impact_range"]["text"]]
    for title, key in (("响应要求", "response_requirements"), ("风险因素", "risk_factors")):
        if data[key]:
            lines.append(f"\n【{title}】")
            lines += [f"- {item}" for item in data[key]]
    names = {"scope": "范围", "routes": "路线和去处", "priority_groups": "重点人群和叫应", "return_rule": "返回条件"}
    if any(data["evacuation"].values()):
        lines.append("\n【转移建议】")
        lines += [f"- {names[k]}：{v}" for k, v in data["evacuation"].items() if v]
    if data["missing"]:
        lines.append("\n【缺少的信息】")
        lines += [f"- {m}" for m in data["missing"]]
    if data["reasoning"]:
        lines.append("\n【推理过程】")
        lines += [f"{i}. {step}" for i, step in enumerate(data["reasoning"], start=1)]
    if assessment.citations:
        lines.append("\n【出处】")
        lines += [f"[{c.n}] 《{c.chunk.title}》 {c.chunk.locator}" for c in assessment.citations]
    return "\n".join(lines)


def render_hits(hits) -> str:
    """The retrieved passages, shown while the model is still writing (time to first visible output)."""
    lines = ["【检索到的资料】（正在生成回答…）"]
    for h in hits:
        page = h.to_json()["page"]
        lines.append(f"[{h.rank}] 《{h.chunk.title}》 {h.chunk.locator} {page}".rstrip() + _note(h.chunk))
    return "\n".join(lines)


def _note(chunk) -> str:
    """Whose rule a source is and whether its version is superseded (hits[].meta.note), shown beside it."""
    note = chunk.meta.get("note", "")
    return f"（{note}）" if note else ""


def render_graded(assessment) -> str:
    """The code's grades, shown while the model still writes the explanation and advice."""
    return render_assessment(assessment) + "\n\n（等级已由程序按所引条文算出；正在依据资料生成处置建议…）"


def reply_payload(result, model_info) -> tuple[dict, str]:
    """What `Copilot.reply` returned, in the `ask` JSON shape (an assessment carries its card under
    "assessment"), and its Chinese text rendering."""
    if isinstance(result, Assessment):
        payload = assessment_as_answer(result, model_info)
        return payload, payload["answer"]
    return answer_json(result, model_info), render_answer(result)
