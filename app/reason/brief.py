"""Duty briefs (速报 / 续报 / 终报 / 值班信息): the required elements, filled from an assessment or by hand,
with a completeness check that names every element still missing.

The required elements follow the 速报 contents in shared domain notes (time, place to village/group, type,
scale, casualties and people threatened, direct loss, cause and trend, measures, next steps, reporting unit and
contact). A brief never hides a gap: each missing element is written into it as 【待补充】.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

KINDS = {
    "速报": "地质灾害速报",
    "续报": "地质灾害续报",
    "终报": "地质灾害终报",
    "值班信息": "值班信息",
}

# (key, label, hint). Order is the order of a written brief.
ELEMENTS: tuple[tuple[str, str, str], ...] = (
    ("time", "发生时间", "年月日时分，如 2025年2月8日11时50分"),
    ("place", "发生地点", "具体到村、组（社区），有坐标时写坐标"),
    ("hazard_type", "灾害类型", "滑坡、崩塌、泥石流、地面塌陷等"),
    ("scale", "规模", "体积（方量）、长宽厚等"),
    ("casualties", "人员伤亡和受威胁情况", "死亡、失踪、受伤人数；受威胁户数、人数；已转移人数"),
    ("direct_loss", "直接经济损失", "已造成的或潜在的经济损失（万元）"),
    ("cause_trend", "原因和发展趋势", "引发因素（降雨、开挖等）、变形迹象、是否仍在发展"),
    ("measures", "已采取的措施", "转移避让、警戒、监测、救援等"),
    ("next_steps", "下一步工作", "后续监测、排查、会商、恢复等安排"),
    ("reporter", "报告单位和联系人", "单位、联系人、电话"),
)
# Filled when known (an assessment's runout estimate), never demanded: not part of the completeness check.
OPTIONAL: tuple[tuple[str, str, str], ...] = (
    ("impact_range", "影响范围估算", "程序按经验公式估算的影响距离、保守距离和依据（可选）"),
)
LABELS = {key: label for key, label, _ in ELEMENTS + OPTIONAL}
# Follow-up and final reports add what changed / how it ended; 值班信息 needs the duty officer.
EXTRA: dict[str, tuple[tuple[str, str, str], ...]] = {
    "续报": (("changes", "新进展", "与上次报告相比的变化：伤亡、转移、险情发展"),),
    "终报": (("outcome", "处置结果", "处置是否完成、险情是否解除、最终伤亡和损失"),),
    "值班信息": (("duty_officer", "值班人员", "值班员、带班领导"),),
}
_VILLAGE = re.compile(r"村|组|社区|屯|寨|居委会")


@dataclass(frozen=True)
class BriefCheck:
    missing: list[str]  # labels of required elements with no content
    warnings: list[str]  # elements present but not good enough (e.g. place not down to village/group)

    @property
    def complete(self) -> bool:
        return not self.missing and not self.warnings


def elements(kind: str) -> tuple[tuple[str, str, str], ...]:
    """Every element of a brief of this kind, in the written order (optional ones last)."""
    return required(kind) + OPTIONAL


def required(kind: str) -> tuple[tuple[str, str, str], ...]:
    if kind not in KINDS:
        raise ValueError(f"未知的报告类型 / unknown brief kind: {kind}")
    return ELEMENTS + EXTRA.get(kind, ())


def check_brief(kind: str, fields: dict[str, str]) -> BriefCheck:
    missing = [label for key, label, _ in required(kind) if not (fields.get(key) or "").strip()]
    warnings = []
    place = (fields.get("place") or "").strip()
    if place and not _VILLAGE.search(place):
        warnings.append("发生地点未具体到村、组（社区）")
    return BriefCheck(missing, warnings)


def render_brief(kind: str, fields: dict[str, str], written_at: float | None = None) -> str:
    """The brief as Markdown; missing elements are written as 【待补充】 so the gap travels with it."""
    check = check_brief(kind, fields)
    stamp = time.strftime("%Y年%m月%d日%H时%M分", time.localtime(written_at or time.time()))
    lines = [f"# {KINDS[kind]}", "", f"报送时间：{stamp}", ""]
    for i, (key, label, _) in enumerate(shown_elements(kind, fields), start=1):
        value = (fields.get(key) or "").strip() or "【待补充】"
        lines.append(f"{_NUMERALS[i]}、{label}：{value}")
        lines.append("")
    if check.missing or check.warnings:
        lines.append("> 完整性检查：" + "；".join(
            [f"缺少{'、'.join(check.missing)}" if check.missing else "", *check.warnings]).strip("；"))
    return "\n".join(lines).rstrip() + "\n"


def shown_elements(kind: str, fields: dict[str, str]) -> tuple[tuple[str, str, str], ...]:
    """What a written brief lists: every required element (a gap as 【待补充】), optional ones only when filled."""
    return required(kind) + tuple(e for e in OPTIONAL if (fields.get(e[0]) or "").strip())


_NUMERALS = "零一二三四五六七八九十" + "".join(f"十{d}" for d in "一二三四五六七八九")


def fields_from_assessment(assessment: dict) -> dict[str, str]:
    """Fill what an assessment (the `assess`/`ask` JSON "assessment" object) states; leave the rest empty.

    Only facts from the report itself and the code's grade go in; nothing is invented."""
    situation = assessment.get("situation") or {}
    figures = situation.get("figure_text") or {}
    fields: dict[str, str] = {
        "time": situation.get("time") or "",
        "place": situation.get("place") or situation.get("region") or assessment.get("region") or "",
        "hazard_type": situation.get("hazard_type") or assessment.get("hazard_type") or "",
        "scale": situation.get("volume") or "",
    }
    people = [figures.get(k) for k in ("deaths", "missing", "injured", "people_to_move", "households")]
    fields["casualties"] = "；".join(p for p in people if p)
    fields["direct_loss"] = "；".join(p for p in (figures.get("direct_loss_yuan"), figures.get("potential_loss_yuan"))
                                     if p)
    signs = [s for s in situation.get("signs") or [] if s != fields["hazard_type"]]
    causes = [situation.get("rainfall"), situation.get("warning_level"), "、".join(signs) if signs else ""]
    causes += assessment.get("risk_factors") or []
    hazard = fields["hazard_type"]
    fields["cause_trend"] = "；".join(dict.fromkeys(c for c in causes if c and c != hazard))
    fields["measures"] = ""  # what was done is for the officer to state; an assessment does not know it
    grades = [b["summary"] for b in assessment.get("basis") or [] if b.get("summary")]
    evacuation = assessment.get("evacuation") or {}
    steps = [v for v in (evacuation.get("scope"), evacuation.get("routes")) if v]
    fields["next_steps"] = "；".join(grades[:1] + steps)
    history = assessment.get("incident_history") or []
    later = [c["description"] for c in history if c["time"] > history[0]["time"]]  # since the first report
    grade_moves = [c for c in assessment.get("situation_changes") or [] if "等级" in c]
    fields["changes"] = "；".join(later + grade_moves)
    impact = assessment.get("impact_range") or {}
    fields["impact_range"] = "；".join(line.strip() for line in (impact.get("text") or "").splitlines()[1:]
                                      if line.strip())
    return {k: v.strip() for k, v in fields.items()}
